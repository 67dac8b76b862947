package io.courier.router.internal;

import io.courier.storage.DeviceId;
import io.courier.storage.InboxUsage;
import io.courier.storage.MessageStore;
import io.courier.storage.StoredMessage;
import java.util.HashMap;
import java.util.Map;

/**
 * What each device inbox holds pending, counted by the storage writer from what it commits, so
 * that a send that would take an inbox above its quota ({@code router.inbox-max-messages},
 * {@code router.inbox-max-bytes}) is refused before it is stored. Writer thread only.
 *
 * <p>The store is the truth: an inbox is counted from it ({@link MessageStore#pendingUsage}) the
 * first time a send to it needs the figure, and from then on kept up to date from the batches
 * the writer commits. Changes of the batch being staged are kept apart and only added to the
 * counted figures once the batch is committed, so a refused batch changes nothing, and an inbox
 * first counted in the middle of a batch (from the store, which has none of the batch) still sees
 * what the batch did to it before. At most {@value #COUNTED_LIMIT} inboxes are kept counted;
 * beyond that all are forgotten and counted again from the store when next needed.
 */
final class InboxQuota {

    private static final int COUNTED_LIMIT = 100_000;

    /** Mutable pair, so that keeping an inbox up to date allocates nothing. */
    private static final class Usage {
        long entries;
        long bytes;
    }

    private final MessageStore store;
    private final long maxEntries;
    private final long maxBytes;
    private final Map<DeviceId, Usage> counted = new HashMap<>();
    private final Map<DeviceId, Usage> staged = new HashMap<>();

    InboxQuota(MessageStore store, long maxEntries, long maxBytes) {
        this.store = store;
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
    }

    /**
     * Whether {@code message} fits {@code owner}'s inbox as it will be after the batch so far.
     *
     * @return null when it fits, else why not, in words naming the limit.
     */
    String refusal(DeviceId owner, StoredMessage message) {
        Usage now = counted(owner);
        Usage change = staged.get(owner);
        long entries = now.entries + (change == null ? 0 : change.entries);
        long bytes = now.bytes + (change == null ? 0 : change.bytes);
        if (entries + 1 > maxEntries) {
            return "the inbox of " + owner + " holds " + entries + " pending entries, its quota"
                + " (router.inbox-max-messages = " + maxEntries + ")";
        }
        long size = InboxUsage.bytesOf(message);
        if (bytes + size > maxBytes) {
            return "the inbox of " + owner + " holds " + bytes + " bytes pending and this message has " + size
                + ", above its quota (router.inbox-max-bytes = " + maxBytes + ")";
        }
        return null;
    }

    /** The batch appends {@code message} to {@code owner}'s inbox as pending. */
    void added(DeviceId owner, StoredMessage message) {
        Usage change = change(owner);
        change.entries++;
        change.bytes += InboxUsage.bytesOf(message);
    }

    /** The batch takes pending {@code message} out of {@code owner}'s pending inbox (delivered or removed). */
    void taken(DeviceId owner, StoredMessage message) {
        Usage change = change(owner);
        change.entries--;
        change.bytes -= InboxUsage.bytesOf(message);
    }

    /** The batch was committed: its changes count. */
    void committed() {
        if (counted.size() > COUNTED_LIMIT) {
            counted.clear();
        }
        staged.forEach((owner, change) -> {
            Usage usage = counted.get(owner);
            if (usage != null) {
                usage.entries += change.entries;
                usage.bytes += change.bytes;
            }
        });
        staged.clear();
    }

    /** The batch was refused: nothing of it happened. */
    void discarded() {
        staged.clear();
    }

    /** Pending entries {@code owner}'s inbox is counted at, committed batches only; -1 when not counted. For tests. */
    long countedEntries(DeviceId owner) {
        Usage usage = counted.get(owner);
        return usage == null ? -1 : usage.entries;
    }

    private Usage counted(DeviceId owner) {
        Usage usage = counted.get(owner);
        if (usage == null) {
            InboxUsage stored = store.pendingUsage(owner);
            usage = new Usage();
            usage.entries = stored.entries();
            usage.bytes = stored.bytes();
            counted.put(owner, usage);
        }
        return usage;
    }

    private Usage change(DeviceId owner) {
        return staged.computeIfAbsent(owner, o -> new Usage());
    }
}
