package io.courier.router;

/**
 * The router's limits and intervals. Immutable; build with {@link #builder()}. Every default is
 * here, in one place; {@link Builder#build()} validates and names the offending setting.
 *
 * @param heartbeatIntervalMs    announced in Welcome; clients beat at least this often.
 * @param missedHeartbeats       a session with no frame for this many intervals is closed.
 * @param helloTimeoutMs         a connection that has not said hello by then is closed.
 * @param mailboxCapacity        live messages queued per session before it falls back to reading
 *                               its inbox from storage (back-pressure, never loss). Power of two.
 * @param maxPayloadBytes        largest payload a Send may carry.
 * @param writerQueueCapacity    commands waiting for the storage writer before sends are refused
 *                               with OVERLOADED. Power of two.
 * @param maxBatch               most commands the writer group-commits at once.
 * @param drainPageSize          inbox entries read from storage per page on (re)connect.
 * @param presenceFlushIntervalMs how often last-seen times are written to the presence store.
 */
public record RouterConfig(
    int heartbeatIntervalMs,
    int missedHeartbeats,
    int helloTimeoutMs,
    int mailboxCapacity,
    int maxPayloadBytes,
    int writerQueueCapacity,
    int maxBatch,
    int drainPageSize,
    int presenceFlushIntervalMs) {

    public static Builder builder() {
        return new Builder();
    }

    /** The defaults. */
    public static RouterConfig defaults() {
        return builder().build();
    }

    /** Builder with documented defaults. */
    public static final class Builder {
        private int heartbeatIntervalMs = 5_000;
        private int missedHeartbeats = 3;
        private int helloTimeoutMs = 10_000;
        private int mailboxCapacity = 128;
        private int maxPayloadBytes = 1024 * 1024;
        private int writerQueueCapacity = 64 * 1024;
        private int maxBatch = 1024;
        private int drainPageSize = 256;
        private int presenceFlushIntervalMs = 30_000;

        public Builder heartbeatIntervalMs(int v) {
            heartbeatIntervalMs = v;
            return this;
        }

        public Builder missedHeartbeats(int v) {
            missedHeartbeats = v;
            return this;
        }

        public Builder helloTimeoutMs(int v) {
            helloTimeoutMs = v;
            return this;
        }

        public Builder mailboxCapacity(int v) {
            mailboxCapacity = v;
            return this;
        }

        public Builder maxPayloadBytes(int v) {
            maxPayloadBytes = v;
            return this;
        }

        public Builder writerQueueCapacity(int v) {
            writerQueueCapacity = v;
            return this;
        }

        public Builder maxBatch(int v) {
            maxBatch = v;
            return this;
        }

        public Builder drainPageSize(int v) {
            drainPageSize = v;
            return this;
        }

        public Builder presenceFlushIntervalMs(int v) {
            presenceFlushIntervalMs = v;
            return this;
        }

        /** @throws IllegalArgumentException naming the configuration key and the bad value. */
        public RouterConfig build() {
            positive("router.heartbeat-interval-ms", heartbeatIntervalMs);
            positive("router.missed-heartbeats", missedHeartbeats);
            positive("router.hello-timeout-ms", helloTimeoutMs);
            powerOfTwo("router.mailbox-capacity", mailboxCapacity);
            positive("router.max-payload-bytes", maxPayloadBytes);
            powerOfTwo("router.writer-queue-capacity", writerQueueCapacity);
            positive("router.max-batch", maxBatch);
            positive("router.drain-page-size", drainPageSize);
            positive("router.presence-flush-interval-ms", presenceFlushIntervalMs);
            return new RouterConfig(heartbeatIntervalMs, missedHeartbeats, helloTimeoutMs, mailboxCapacity,
                maxPayloadBytes, writerQueueCapacity, maxBatch, drainPageSize, presenceFlushIntervalMs);
        }

        private static void positive(String key, int value) {
            if (value <= 0) {
                throw new IllegalArgumentException(key + " must be positive, was " + value);
            }
        }

        private static void powerOfTwo(String key, int value) {
            if (value < 2 || Integer.bitCount(value) != 1) {
                throw new IllegalArgumentException(key + " must be a power of two of at least 2, was " + value);
            }
        }
    }
}
