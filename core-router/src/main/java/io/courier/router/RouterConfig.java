package io.courier.router;

import io.courier.storage.RetentionPolicy;
import java.time.Duration;
import java.util.Objects;

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
 * @param presenceFlushIntervalMs how often the last activity of users who are online is
 *                               checkpointed to the presence store, so that a crash loses at most
 *                               this much of it. 300,000 (five minutes). While a user is online their
 *                               activity in memory is the truth; users who go offline are written
 *                               at the next sweep. So the store takes at most one row per online
 *                               user per interval plus one per disconnect, however often they beat.
 * @param dedupWindow            a repeated send is answered with its first single tick for this
 *                               long after it was accepted; later, it is a new message.
 * @param deliveredRetention     a delivered message nobody read is kept this long (for a late
 *                               read receipt), then expires; a read removes it at once.
 * @param expiryIntervalMs       how often expired de-duplication records and delivered entries are
 *                               removed from storage.
 * @param expiryBatch            most records one storage call removes during expiry.
 * @param framesPerSecond        frames a connection may send per second once its burst is spent
 *                               (every frame after hello counts). 500: a person chatting, with
 *                               every tick and receipt acknowledged, sends a few frames a second;
 *                               500 is two orders of magnitude above that, and a device that
 *                               acknowledges a large drain does so in frames of many ids.
 * @param frameBurst             frames a connection may send at once above that rate. 2,000: a
 *                               reconnecting device that acknowledges a drain of 2,000 entries one
 *                               frame per entry stays within it.
 * @param bytesPerSecond         encoded frame bytes a connection may send per second once its
 *                               burst is spent. 4 MiB: 40,000 text messages a second, or a
 *                               largest payload every quarter second.
 * @param byteBurst              bytes a connection may send at once above that rate; at least
 *                               one largest frame. 16 MiB: fifteen largest frames back to back.
 * @param writerShare            work a session may have waiting for the storage writer, in
 *                               commands (an ack or read receipt counts one per id), before its
 *                               next is refused OVERLOADED on its own connection. 4,096: an
 *                               honest burst of a few thousand sends fits, and no session can
 *                               hold more than 1/16 of the writer's capacity. (How long others
 *                               wait behind it is bounded by the writer's turns, not by this.)
 * @param inboxMaxMessages       pending entries a device inbox may hold before sends to it are
 *                               refused with INBOX_FULL. 100,000: a month of 3,000 messages a day
 *                               for a device that never connects.
 * @param inboxMaxBytes          pending content bytes a device inbox may hold before sends to it
 *                               are refused with INBOX_FULL. 1 GiB: a thousand largest payloads,
 *                               ten million text messages.
 * @param maxDevicesPerUser      devices a user may have, the primary included, before the hello
 *                               of another is refused with TOO_MANY_DEVICES. 16.
 * @param maxIdsPerAck           server ids one DeliveryAck or ReadReceipt may name before it is
 *                               refused with INVALID_ARGUMENT. 1,024: four drain pages. It also
 *                               bounds the ids one PrivacyUpdate may add and remove.
 * @param maxContacts            users a contact list may hold; a PrivacyUpdate that would go above
 *                               it is refused with INVALID_ARGUMENT. 5,000.
 * @param maxPresenceWatch       users one PresenceSubscribe may name (a contacts subscription adds
 *                               the contact list, bounded by maxContacts). 1,024.
 * @param presenceCoalesceMs     a subscriber is told of a watched user's change at once unless it
 *                               was told of one for that user within this window; then at the
 *                               window's end, with the state at that time (nothing if it changed
 *                               back). 2,000: a flapping connection costs a subscriber one frame
 *                               per two seconds.
 * @param maxOneTimePreKeysPerPublish one-time pre-keys one KeyBundlePublish may carry before it is
 *                               refused with INVALID_ARGUMENT. 100: about 4 KiB, a frame's worth.
 * @param maxOneTimePreKeys      one-time pre-keys a device may have on the server; a publish that
 *                               would go above it is refused with INVALID_ARGUMENT. 1,000: ten full
 *                               publishes, at about 40 bytes a key 40 KB per device.
 * @param oneTimePreKeysLow      a device with fewer one-time pre-keys than this is told with
 *                               PreKeysLow (after its Welcome, and when a fetch takes one of them).
 *                               20: a day of new contacts for most people, while it replenishes.
 * @param writer                 where group commits run: {@link WriterMode#THREAD} on the storage
 *                               writer's own thread, {@link WriterMode#INLINE} on the thread that
 *                               offered the command when no commit is running (the writer's thread
 *                               takes over when that thread has done a few batches), or
 *                               {@link WriterMode#AUTO}, the default: inline when the backend's
 *                               commits never wait for a disk or a network
 *                               ({@code MessageStore#commitNeverWaits()}), else the thread.
 * @param sharedStore            whether other servers write into the same store: each batch then
 *                               locks the inboxes it may append to and reserves its ids from the
 *                               store ({@code MessageStore#beginBatch}), so server ids stay unique
 *                               across the servers and each inbox's entries appear in id order.
 *                               Needs a store that can be shared ({@code MessageStore#isShared()}:
 *                               PostgreSQL). False by default: one server owns its store.
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
    int presenceFlushIntervalMs,
    Duration dedupWindow,
    Duration deliveredRetention,
    int expiryIntervalMs,
    int expiryBatch,
    int framesPerSecond,
    int frameBurst,
    int bytesPerSecond,
    int byteBurst,
    int writerShare,
    int inboxMaxMessages,
    int inboxMaxBytes,
    int maxDevicesPerUser,
    int maxIdsPerAck,
    int maxContacts,
    int maxPresenceWatch,
    int presenceCoalesceMs,
    int maxOneTimePreKeysPerPublish,
    int maxOneTimePreKeys,
    int oneTimePreKeysLow,
    WriterMode writer,
    boolean sharedStore) {

    /** Where group commits run ({@code router.writer}). */
    public enum WriterMode {
        /** Inline when the backend's commits never wait, else on the writer's thread. */
        AUTO,
        /** Always on the storage writer's own thread. */
        THREAD,
        /** On the thread that offered the command, whenever no commit is already running. */
        INLINE;

        /** @throws IllegalArgumentException naming {@code router.writer} and the choices. */
        public static WriterMode parse(String value) {
            for (WriterMode mode : values()) {
                if (mode.name().equalsIgnoreCase(value)) {
                    return mode;
                }
            }
            throw new IllegalArgumentException("router.writer must be auto, thread or inline, was '" + value + "'");
        }

        /** As the configuration spells it: {@code auto}, {@code thread}, {@code inline}. */
        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The defaults. */
    public static RouterConfig defaults() {
        return builder().build();
    }

    /** This configuration with {@link #sharedStore} on, as a cluster's nodes run. */
    public RouterConfig withSharedStore() {
        return new RouterConfig(heartbeatIntervalMs, missedHeartbeats, helloTimeoutMs, mailboxCapacity,
            maxPayloadBytes, writerQueueCapacity, maxBatch, drainPageSize, presenceFlushIntervalMs, dedupWindow,
            deliveredRetention, expiryIntervalMs, expiryBatch, framesPerSecond, frameBurst, bytesPerSecond, byteBurst,
            writerShare, inboxMaxMessages, inboxMaxBytes, maxDevicesPerUser, maxIdsPerAck, maxContacts,
            maxPresenceWatch, presenceCoalesceMs, maxOneTimePreKeysPerPublish, maxOneTimePreKeys, oneTimePreKeysLow,
            writer, true);
    }

    /** The retention the storage layer enforces: the windows and the expiry batch size. */
    public RetentionPolicy retention() {
        return new RetentionPolicy(dedupWindow, deliveredRetention, expiryBatch);
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
        private int presenceFlushIntervalMs = 300_000;
        private Duration dedupWindow = RetentionPolicy.DEFAULT_DEDUP_WINDOW;
        private Duration deliveredRetention = RetentionPolicy.DEFAULT_DELIVERED_RETENTION;
        private int expiryIntervalMs = 60_000;
        private int expiryBatch = RetentionPolicy.DEFAULT_BATCH_SIZE;
        private int framesPerSecond = 500;
        private int frameBurst = 2_000;
        private int bytesPerSecond = 4 * 1024 * 1024;
        private int byteBurst = 16 * 1024 * 1024;
        private int writerShare = 4_096;
        private int inboxMaxMessages = 100_000;
        private int inboxMaxBytes = 1024 * 1024 * 1024;
        private int maxDevicesPerUser = 16;
        private int maxIdsPerAck = 1_024;
        private int maxContacts = 5_000;
        private int maxPresenceWatch = 1_024;
        private int presenceCoalesceMs = 2_000;
        private int maxOneTimePreKeysPerPublish = 100;
        private int maxOneTimePreKeys = 1_000;
        private int oneTimePreKeysLow = 20;
        private WriterMode writer = WriterMode.AUTO;
        private boolean sharedStore;

        public Builder sharedStore(boolean v) {
            sharedStore = v;
            return this;
        }

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

        /** {@code router.dedup-window-hours}: default 168 (seven days). */
        public Builder dedupWindowHours(int v) {
            dedupWindow = Duration.ofHours(v);
            return this;
        }

        /** The de-duplication window as a duration, for embedders and tests. */
        public Builder dedupWindow(Duration v) {
            dedupWindow = Objects.requireNonNull(v, "dedupWindow");
            return this;
        }

        /** {@code router.delivered-retention-hours}: default 720 (thirty days). */
        public Builder deliveredRetentionHours(int v) {
            deliveredRetention = Duration.ofHours(v);
            return this;
        }

        /** The delivered retention as a duration, for embedders and tests. */
        public Builder deliveredRetention(Duration v) {
            deliveredRetention = Objects.requireNonNull(v, "deliveredRetention");
            return this;
        }

        public Builder expiryIntervalMs(int v) {
            expiryIntervalMs = v;
            return this;
        }

        public Builder expiryBatch(int v) {
            expiryBatch = v;
            return this;
        }

        public Builder framesPerSecond(int v) {
            framesPerSecond = v;
            return this;
        }

        public Builder frameBurst(int v) {
            frameBurst = v;
            return this;
        }

        public Builder bytesPerSecond(int v) {
            bytesPerSecond = v;
            return this;
        }

        public Builder byteBurst(int v) {
            byteBurst = v;
            return this;
        }

        public Builder writerShare(int v) {
            writerShare = v;
            return this;
        }

        public Builder inboxMaxMessages(int v) {
            inboxMaxMessages = v;
            return this;
        }

        public Builder inboxMaxBytes(int v) {
            inboxMaxBytes = v;
            return this;
        }

        public Builder maxDevicesPerUser(int v) {
            maxDevicesPerUser = v;
            return this;
        }

        public Builder maxIdsPerAck(int v) {
            maxIdsPerAck = v;
            return this;
        }

        public Builder maxContacts(int v) {
            maxContacts = v;
            return this;
        }

        public Builder maxPresenceWatch(int v) {
            maxPresenceWatch = v;
            return this;
        }

        public Builder presenceCoalesceMs(int v) {
            presenceCoalesceMs = v;
            return this;
        }

        public Builder maxOneTimePreKeysPerPublish(int v) {
            maxOneTimePreKeysPerPublish = v;
            return this;
        }

        public Builder maxOneTimePreKeys(int v) {
            maxOneTimePreKeys = v;
            return this;
        }

        public Builder oneTimePreKeysLow(int v) {
            oneTimePreKeysLow = v;
            return this;
        }

        public Builder writer(WriterMode v) {
            writer = Objects.requireNonNull(v, "writer");
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
            positive("router.dedup-window-hours", dedupWindow);
            positive("router.delivered-retention-hours", deliveredRetention);
            positive("router.expiry-interval-ms", expiryIntervalMs);
            positive("router.expiry-batch", expiryBatch);
            positive("router.frames-per-second", framesPerSecond);
            positive("router.frame-burst", frameBurst);
            positive("router.bytes-per-second", bytesPerSecond);
            positive("router.byte-burst", byteBurst);
            positive("router.writer-share", writerShare);
            positive("router.inbox-max-messages", inboxMaxMessages);
            positive("router.inbox-max-bytes", inboxMaxBytes);
            positive("router.max-devices-per-user", maxDevicesPerUser);
            positive("router.max-ids-per-ack", maxIdsPerAck);
            positive("router.max-contacts", maxContacts);
            positive("router.max-presence-watch", maxPresenceWatch);
            positive("router.presence-coalesce-ms", presenceCoalesceMs);
            positive("router.max-one-time-pre-keys-per-publish", maxOneTimePreKeysPerPublish);
            positive("router.max-one-time-pre-keys", maxOneTimePreKeys);
            positive("router.one-time-pre-keys-low", oneTimePreKeysLow);
            if (oneTimePreKeysLow > maxOneTimePreKeys) {
                // A device could never fill its supply above the threshold and would be told it is low for ever.
                throw new IllegalArgumentException("router.one-time-pre-keys-low must be at most"
                    + " router.max-one-time-pre-keys (" + maxOneTimePreKeys + "), was " + oneTimePreKeysLow);
            }
            if (writerShare < maxIdsPerAck) {
                // An ack counts one unit per id: a full one must fit a session's share.
                throw new IllegalArgumentException("router.writer-share must be at least router.max-ids-per-ack ("
                    + maxIdsPerAck + "), was " + writerShare);
            }
            return new RouterConfig(heartbeatIntervalMs, missedHeartbeats, helloTimeoutMs, mailboxCapacity,
                maxPayloadBytes, writerQueueCapacity, maxBatch, drainPageSize, presenceFlushIntervalMs, dedupWindow,
                deliveredRetention, expiryIntervalMs, expiryBatch, framesPerSecond, frameBurst, bytesPerSecond, byteBurst,
                writerShare, inboxMaxMessages, inboxMaxBytes, maxDevicesPerUser, maxIdsPerAck, maxContacts,
                maxPresenceWatch, presenceCoalesceMs, maxOneTimePreKeysPerPublish, maxOneTimePreKeys, oneTimePreKeysLow,
                writer, sharedStore);
        }

        private static void positive(String key, Duration value) {
            if (value.toMillis() <= 0) {
                // Whole hours, as the key reads; a finer duration (set in code) as itself.
                boolean wholeHours = value.equals(Duration.ofHours(value.toHours()));
                throw new IllegalArgumentException(key + " must be positive, was "
                    + (wholeHours ? Long.toString(value.toHours()) : value.toString()));
            }
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
