package io.courier.storage;

import java.util.List;
import java.util.Optional;

/**
 * Inboxes and the de-duplication record: the durable half of the delivery contract.
 *
 * <p>Threading: {@link #commit} is called by one writer thread at a time; the read methods may be
 * called from other threads concurrently with it and with each other, and must see every batch
 * whose commit has returned. All methods may block (disk, network); the router never calls them
 * on an event-loop thread.
 *
 * <p>Errors: every method throws {@link StorageException} (unchecked) when the store cannot do
 * what was asked, including after {@link StorageBackend#close()}.
 */
public interface MessageStore {

    /**
     * Applies every operation of {@code batch}, all or none, in order. When this returns, the batch
     * is as durable as the backend is configured to make it: the router sends single ticks only
     * after it returns.
     */
    void commit(WriteBatch batch);

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

    /** How a send was accepted, if {@code sender} already sent {@code clientMessageId}. */
    Optional<AcceptedSend> acceptedSend(DeviceId sender, String clientMessageId);

    /**
     * The highest server id any committed batch used (appended, recorded or advanced to), or 0 for
     * an empty store. The router continues numbering after it when it starts.
     */
    long highestServerId();

    /** Number of pending entries in {@code owner}'s inbox. May be slow; for tests and tools. */
    long pendingCount(DeviceId owner);
}
