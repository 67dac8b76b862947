package io.courier.client;

/**
 * Progress of one upload or download of a {@link Media} blob. Called from an HTTP thread of the
 * client, often (for every buffer), so it must return quickly and not block.
 */
@FunctionalInterface
public interface TransferProgress {

    /** No report. */
    TransferProgress NONE = (done, total) -> {
    };

    /**
     * {@code done} of {@code total} bytes have crossed so far. For a resumed download {@code done}
     * starts at what was already on disk. May go back to 0 when a transfer starts over.
     */
    void progress(long done, long total);
}
