package io.courier.storage;

import java.nio.charset.StandardCharsets;

/**
 * What the pending entries of one inbox hold: how many there are and how many bytes of client
 * content they carry. The router's inbox quota ({@code router.inbox-max-messages},
 * {@code router.inbox-max-bytes}) starts from this and then keeps it up to date itself.
 *
 * @param entries pending entries, messages and receipts.
 * @param bytes   the sum of {@link #bytesOf} over them.
 */
public record InboxUsage(long entries, long bytes) {

    /** An empty inbox. */
    public static final InboxUsage EMPTY = new InboxUsage(0, 0);

    public InboxUsage {
        if (entries < 0 || bytes < 0) {
            throw new IllegalArgumentException("entries and bytes must not be negative, were " + entries + ", " + bytes);
        }
    }

    /**
     * The bytes an entry counts for: what its sender chose the size of — the payload, the media
     * reference and the content type (in UTF-8). A receipt counts 0. Ids, names and times are
     * left out: they are bounded by the protocol, whatever the sender does.
     */
    public static long bytesOf(StoredMessage message) {
        return (long) message.payload().length + message.media().length
            + message.contentType().getBytes(StandardCharsets.UTF_8).length;
    }

    /** This usage with {@code message} added. */
    public InboxUsage plus(StoredMessage message) {
        return new InboxUsage(entries + 1, bytes + bytesOf(message));
    }
}
