package io.courier.storage;

import java.util.ArrayList;
import java.util.List;

/**
 * Mutations that a {@link MessageStore} applies together: all or none, durably as configured.
 * The router's single writer thread fills one batch with the work of many sessions (group
 * commit), so a backend gets one write per batch instead of one per message.
 *
 * <p>Operations apply in the order they were added. Not thread-safe: one writer fills it, the
 * store reads it during {@link MessageStore#commit}, and the writer {@link #clear()}s it for reuse.
 */
public final class WriteBatch {

    /** Receives a batch's operations in order; what a backend implements to apply them. */
    public interface Visitor {
        /** Add {@code message} to the inbox of {@code owner} as {@link InboxEntry.State#PENDING}. */
        void append(DeviceId owner, StoredMessage message);

        /**
         * Mark the entry {@link InboxEntry.State#DELIVERED}: it leaves {@link MessageStore#pending}
         * but stays findable by {@link MessageStore#entry} until it is removed or
         * {@link MessageStore#expireDelivered expired} by its {@code deliveredAtMs}. No effect when
         * absent or already delivered (the first delivery time stays).
         */
        void markDelivered(DeviceId owner, long serverId, long deliveredAtMs);

        /** Remove the entry entirely. No effect when absent. */
        void remove(DeviceId owner, long serverId);

        /**
         * Remember that {@code sender}'s {@code clientMessageId} was accepted as {@code accepted},
         * replacing an earlier record of it; it expires by {@link AcceptedSend#acceptedAtMs()}
         * ({@link MessageStore#expireSends}).
         */
        void recordSend(DeviceId sender, String clientMessageId, AcceptedSend accepted);

        /** Raise the store's {@link MessageStore#highestServerId()} to at least {@code serverId}. */
        void advanceServerId(long serverId);
    }

    private sealed interface Op permits Append, MarkDelivered, Remove, RecordSend, Advance {
    }

    private record Append(DeviceId owner, StoredMessage message) implements Op {
    }

    private record MarkDelivered(DeviceId owner, long serverId, long deliveredAtMs) implements Op {
    }

    private record Remove(DeviceId owner, long serverId) implements Op {
    }

    private record RecordSend(DeviceId sender, String clientMessageId, AcceptedSend accepted) implements Op {
    }

    private record Advance(long serverId) implements Op {
    }

    private final List<Op> ops = new ArrayList<>();

    public WriteBatch append(DeviceId owner, StoredMessage message) {
        ops.add(new Append(owner, message));
        return this;
    }

    /**
     * Marks an entry delivered at {@code deliveredAtMs} (ms since the epoch, from the caller's
     * clock): the time its retention counts from.
     */
    public WriteBatch markDelivered(DeviceId owner, long serverId, long deliveredAtMs) {
        ops.add(new MarkDelivered(owner, serverId, deliveredAtMs));
        return this;
    }

    public WriteBatch remove(DeviceId owner, long serverId) {
        ops.add(new Remove(owner, serverId));
        return this;
    }

    public WriteBatch recordSend(DeviceId sender, String clientMessageId, AcceptedSend accepted) {
        ops.add(new RecordSend(sender, clientMessageId, accepted));
        return this;
    }

    public WriteBatch advanceServerId(long serverId) {
        ops.add(new Advance(serverId));
        return this;
    }

    /** Number of operations. */
    public int size() {
        return ops.size();
    }

    public boolean isEmpty() {
        return ops.isEmpty();
    }

    /** Empties the batch for reuse. */
    public void clear() {
        ops.clear();
    }

    /** Calls {@code visitor} once per operation, in the order they were added. */
    public void forEach(Visitor visitor) {
        for (Op op : ops) {
            if (op instanceof Append a) {
                visitor.append(a.owner(), a.message());
            } else if (op instanceof MarkDelivered m) {
                visitor.markDelivered(m.owner(), m.serverId(), m.deliveredAtMs());
            } else if (op instanceof Remove r) {
                visitor.remove(r.owner(), r.serverId());
            } else if (op instanceof RecordSend s) {
                visitor.recordSend(s.sender(), s.clientMessageId(), s.accepted());
            } else if (op instanceof Advance adv) {
                visitor.advanceServerId(adv.serverId());
            }
        }
    }
}
