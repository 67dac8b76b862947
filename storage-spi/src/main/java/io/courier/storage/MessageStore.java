package io.courier.storage;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Inboxes and the de-duplication record: the durable half of the delivery contract.
 *
 * <p>Threading: {@link #commit} is called by one writer thread at a time; the read methods may be
 * called from other threads concurrently with it and with each other, and must see every batch
 * whose commit has returned. {@link #expireSends} and {@link #expireDelivered} are called from
 * one housekeeping thread, concurrently with commits and reads (see their contract). All methods
 * may block (disk, network); the router never calls them on an event-loop thread.
 *
 * <p>Retention: what the contract no longer needs expires, so the store stays bounded.
 * De-duplication records expire by the time their send was accepted, delivered entries by the
 * time they were marked delivered; pending entries never expire. The store keeps no policy and
 * reads no clock: the caller passes the cutoff ({@link RetentionPolicy} computes it from its
 * windows and the caller's clock), so an index by time (a key prefix, an indexed column, a
 * sorted structure) makes each call a range scan and a bounded delete, never a scan of
 * everything.
 *
 * <p>Errors: every method throws {@link StorageException} (unchecked) when the store cannot do
 * what was asked, including after {@link StorageBackend#close()}.
 */
public interface MessageStore {

    /**
     * Applies every operation of {@code batch}, all or none, in order. When this returns, the batch
     * is as durable as the backend is configured to make it: the router sends single ticks only
     * after it returns. After {@link #beginBatch} it ends the batch, committed or (when it throws)
     * not, and releases the lock either way.
     */
    void commit(WriteBatch batch);

    /**
     * Whether {@link #commit} never waits for a disk, a network or another process: then the router
     * may run commits on the thread that received the command instead of handing each to its
     * writer's thread ({@code router.writer: auto}). The default, false, is always safe.
     */
    default boolean commitNeverWaits() {
        return false;
    }

    /**
     * Whether several servers may commit into this store at once, as the nodes of a cluster do
     * (PostgreSQL). The router then brackets each batch with {@link #beginBatch} and
     * {@link #commit} (or {@link #abortBatch}). False, the default, for a store that one process
     * owns (RocksDB, memory): a cluster refuses to start on it.
     */
    default boolean isShared() {
        return false;
    }

    /**
     * Starts the calling thread's next batch on a shared store: locks {@code inboxes} (every inbox
     * the batch may append to) against the other servers' batches, then reserves {@code ids}
     * server ids, each above every id reserved or committed before, and returns them in ascending
     * order (not necessarily consecutive: other servers reserve at the same time); the batch
     * numbers its entries with them, in order. The locks are held until this thread's
     * {@link #commit} or {@link #abortBatch} returns, and this thread's reads meanwhile see every
     * batch committed before. Because a batch reserves its ids only once it holds its inboxes'
     * locks, an inbox's entries become visible in id order whichever server committed them: a
     * device that has seen server id N never later finds an entry below N. Batches on other
     * inboxes go on at the same time. Reserved ids a batch does not use are never used (ids may
     * have gaps).
     *
     * <p>The default, for a store that is not shared, locks nothing and returns the ids after
     * {@link #highestServerId()}.
     */
    default long[] beginBatch(Collection<DeviceId> inboxes, int ids) {
        long first = highestServerId() + 1;
        return java.util.stream.LongStream.range(first, first + Math.max(0, ids)).toArray();
    }

    /**
     * In the batch this thread began with {@link #beginBatch}: the highest server id of any entry
     * (pending or delivered) in each inbox it locked, as it was when the locks were taken, before
     * the batch's own appends; 0 for an empty inbox. Because no other server appends to those
     * inboxes until this batch commits, an entry the batch appends to one of them follows
     * directly on that id: a server that hands the entry to a session that was sent that id
     * already may do so without reading the inbox. An inbox absent from the map is unknown, and
     * the session reads its inbox as before; the default, an empty map, is always safe.
     */
    default Map<DeviceId, Long> lockedHighestIds() {
        return Map.of();
    }

    /**
     * Ends a batch started by {@link #beginBatch} without committing anything (its staging failed,
     * or it had nothing to write), releasing the lock. No effect when no batch is open on this
     * thread.
     */
    default void abortBatch() {
    }

    /**
     * Pending entries of {@code owner}'s inbox with a server id above {@code afterServerId}, in
     * ascending server id order, at most {@code limit} of them. Delivered and removed entries are
     * skipped and do not count towards {@code limit}: a page shorter than {@code limit} means there
     * are no more pending entries.
     *
     * @throws IllegalArgumentException when {@code limit} is not positive.
     */
    List<StoredMessage> pending(DeviceId owner, long afterServerId, int limit);

    /** The entry {@code serverId} of {@code owner}'s inbox, pending or delivered, if present. */
    Optional<InboxEntry> entry(DeviceId owner, long serverId);

    /**
     * The entries among {@code entries} that are present, pending or delivered: the answer of
     * {@link #entry} for every element, as one map that leaves out the absent ones. The router
     * asks once per batch for every id its acknowledgements and read receipts name, so a backend
     * that answers in one read spares a round trip per id; the default asks {@link #entry} for
     * each.
     */
    default Map<EntryId, InboxEntry> entries(Collection<EntryId> entries) {
        Map<EntryId, InboxEntry> found = new HashMap<>();
        for (EntryId id : entries) {
            entry(id.owner(), id.serverId()).ifPresent(entry -> found.put(id, entry));
        }
        return found;
    }

    /** How a send was accepted, if {@code sender} already sent {@code clientMessageId}. */
    Optional<AcceptedSend> acceptedSend(DeviceId sender, String clientMessageId);

    /**
     * How each of {@code sends} was accepted, for those already sent: the answer of
     * {@link #acceptedSend} for every element, as one map that leaves out the sends never seen.
     * The router asks once per batch it stages, so a backend that answers in one read (one query,
     * one multi-get) spares a round trip per message; the default asks {@link #acceptedSend} for
     * each.
     */
    default Map<SendId, AcceptedSend> acceptedSends(Collection<SendId> sends) {
        Map<SendId, AcceptedSend> found = new HashMap<>();
        for (SendId send : sends) {
            acceptedSend(send.sender(), send.clientMessageId()).ifPresent(accepted -> found.put(send, accepted));
        }
        return found;
    }

    /**
     * The highest server id any committed batch used (appended, recorded or advanced to), or 0 for
     * an empty store. The router continues numbering after it when it starts.
     */
    long highestServerId();

    /** Number of pending entries in {@code owner}'s inbox. May be slow; for tests and tools. */
    long pendingCount(DeviceId owner);

    /**
     * Removes up to {@code limit} de-duplication records whose send was accepted before
     * {@code acceptedBeforeMs} ({@link AcceptedSend#acceptedAtMs()} strictly below it), as one
     * bounded unit of work (one write, one transaction). Inbox entries are untouched.
     *
     * <p>May run concurrently with {@link #commit}; it must neither fail nor hold up a commit for
     * longer than one such unit, and it removes a record only if the record's time, as stored
     * when it is removed, is still before the cutoff: a send recorded again by a concurrent
     * commit stays.
     *
     * @return how many records this call removed, at most {@code limit}. A backend that indexes by
     *     time may count index entries of records already replaced or removed. A result below
     *     {@code limit} means nothing accepted before the cutoff is left (as far as this call
     *     could see: records a concurrent commit holds may wait for the next call).
     * @throws IllegalArgumentException when {@code limit} is not positive.
     */
    int expireSends(long acceptedBeforeMs, int limit);

    /**
     * Removes up to {@code limit} {@link InboxEntry.State#DELIVERED delivered} entries, of any
     * inbox, marked delivered before {@code deliveredBeforeMs}, as one bounded unit of work.
     * Pending entries are never removed, however old. The same concurrency rules and result as
     * {@link #expireSends}: an entry is removed only if it is still delivered, and was delivered
     * before the cutoff, when it is removed.
     *
     * @throws IllegalArgumentException when {@code limit} is not positive.
     */
    int expireDelivered(long deliveredBeforeMs, int limit);

    /**
     * How many entries {@code owner}'s inbox holds pending and how many bytes of content they
     * carry ({@link InboxUsage#bytesOf}), as of the last returned commit. The router calls it
     * from its writer thread once per inbox it has not counted yet, then counts what it commits
     * itself, so it may take time in proportion to the inbox; a backend that keeps the figures
     * can answer at once. The default reads the pending entries page by page.
     */
    default InboxUsage pendingUsage(DeviceId owner) {
        InboxUsage usage = InboxUsage.EMPTY;
        long after = 0;
        while (true) {
            List<StoredMessage> page = pending(owner, after, 1024);
            for (StoredMessage message : page) {
                usage = usage.plus(message);
                after = message.serverId();
            }
            if (page.size() < 1024) {
                return usage;
            }
        }
    }
}
