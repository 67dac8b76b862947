package io.courier.storage;

import java.time.Duration;
import java.util.Objects;

/**
 * How long a {@link MessageStore} keeps what the delivery contract no longer needs, and the pass
 * that removes it. Immutable.
 *
 * <ul>
 *   <li>A de-duplication record answers a repeated send with its first single tick for
 *       {@code dedupWindow} after the send was accepted; after that a send with the same client
 *       message id is a new message, and the record expires.</li>
 *   <li>A delivered entry is kept {@code deliveredRetention} after it was marked delivered, so that
 *       a late read receipt can still be checked and routed; a read removes it at once. After
 *       that it expires, and a read receipt for it is answered as for an unknown message.</li>
 *   <li>Pending entries (not yet acknowledged by their device) never expire.</li>
 * </ul>
 *
 * <p>Times are milliseconds since the epoch from the caller's clock: the policy reads none, so a
 * test moves a clock and calls {@link #expire} instead of waiting.
 *
 * @param dedupWindow        how long a repeated send is answered with its first single tick.
 * @param deliveredRetention how long a delivered, never-read entry is kept.
 * @param batchSize          most records one storage call removes: each call is one bounded
 *                           write or transaction, never one for everything that is due.
 */
public record RetentionPolicy(Duration dedupWindow, Duration deliveredRetention, int batchSize) {

    /** Seven days: far longer than any client keeps resending what it has no single tick for. */
    public static final Duration DEFAULT_DEDUP_WINDOW = Duration.ofDays(7);
    /** Thirty days for a delivered message to be read. */
    public static final Duration DEFAULT_DELIVERED_RETENTION = Duration.ofDays(30);
    /** Records per storage call. */
    public static final int DEFAULT_BATCH_SIZE = 1_000;

    /**
     * @throws IllegalArgumentException when a duration is shorter than a millisecond or the batch
     *     size is not positive.
     */
    public RetentionPolicy {
        Objects.requireNonNull(dedupWindow, "dedupWindow");
        Objects.requireNonNull(deliveredRetention, "deliveredRetention");
        if (dedupWindow.toMillis() <= 0) {
            throw new IllegalArgumentException("The de-duplication window must be at least 1 ms, was " + dedupWindow);
        }
        if (deliveredRetention.toMillis() <= 0) {
            throw new IllegalArgumentException("The delivered retention must be at least 1 ms, was " + deliveredRetention);
        }
        if (batchSize <= 0) {
            throw new IllegalArgumentException("The expiry batch size must be positive, was " + batchSize);
        }
    }

    /** Seven days, thirty days, 1,000 records per call. */
    public static RetentionPolicy defaults() {
        return new RetentionPolicy(DEFAULT_DEDUP_WINDOW, DEFAULT_DELIVERED_RETENTION, DEFAULT_BATCH_SIZE);
    }

    /**
     * True while a repeated send must be answered with {@code accepted}: less than
     * {@code dedupWindow} has passed since it was accepted. A record the store still holds but
     * that is outside the window (expiry runs periodically, not at every instant) is not a
     * duplicate: the send is new.
     */
    public boolean isWithinDedupWindow(AcceptedSend accepted, long nowMs) {
        return accepted.acceptedAtMs() >= sendsExpireBeforeMs(nowMs);
    }

    /** The cutoff for {@link MessageStore#expireSends} at {@code nowMs}: accepted at or before now − window. */
    public long sendsExpireBeforeMs(long nowMs) {
        return cutoff(nowMs, dedupWindow.toMillis());
    }

    /** The cutoff for {@link MessageStore#expireDelivered} at {@code nowMs}: delivered at or before now − retention. */
    public long deliveredExpireBeforeMs(long nowMs) {
        return cutoff(nowMs, deliveredRetention.toMillis());
    }

    private static long cutoff(long nowMs, long windowMs) {
        long start = nowMs - windowMs;
        // Saturate instead of wrapping for clocks near Long.MIN_VALUE (only a test would have one).
        if (((nowMs ^ windowMs) & (nowMs ^ start)) < 0) {
            return Long.MIN_VALUE;
        }
        return start + 1;
    }

    /**
     * What one {@link #expire} pass removed.
     *
     * @param sends     de-duplication records (as counted by the store).
     * @param delivered delivered entries (as counted by the store).
     * @param calls     storage calls made, each one bounded unit of work.
     */
    public record Expired(long sends, long delivered, int calls) {
    }

    /**
     * Removes everything due at {@code nowMs}: calls {@link MessageStore#expireSends}, then
     * {@link MessageStore#expireDelivered}, {@code batchSize} records at a time, each until it
     * reports nothing more due. Each call is its own bounded unit of work, so the writer's
     * commits go on between them; the cutoffs are fixed when the pass starts, so it ends even
     * while new records keep arriving. Stops early, between calls, when the calling thread is
     * interrupted (the interrupt stays set). Blocks; run it on a housekeeping thread.
     *
     * @throws StorageException from the store; what earlier calls removed stays removed.
     */
    public Expired expire(MessageStore store, long nowMs) {
        long sendsBefore = sendsExpireBeforeMs(nowMs);
        long deliveredBefore = deliveredExpireBeforeMs(nowMs);
        long sends = 0;
        long delivered = 0;
        int calls = 0;
        int removed;
        do {
            removed = store.expireSends(sendsBefore, batchSize);
            sends += removed;
            calls++;
        } while (removed >= batchSize && !Thread.currentThread().isInterrupted());
        while (!Thread.currentThread().isInterrupted()) {
            removed = store.expireDelivered(deliveredBefore, batchSize);
            delivered += removed;
            calls++;
            if (removed < batchSize) {
                break;
            }
        }
        return new Expired(sends, delivered, calls);
    }
}
