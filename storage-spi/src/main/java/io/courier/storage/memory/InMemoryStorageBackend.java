package io.courier.storage.memory;

import io.courier.storage.AcceptedSend;
import io.courier.storage.CombinedStorageBackend;
import io.courier.storage.DeviceId;
import io.courier.storage.InboxEntry;
import io.courier.storage.KeyBundle;
import io.courier.storage.StorageException;
import io.courier.storage.StoredMessage;
import io.courier.storage.WriteBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The in-memory backend. Inboxes are skip lists keyed by server id, so reads never block and see
 * entries in order; a read-write lock makes each batch appear all at once to readers.
 */
final class InMemoryStorageBackend implements CombinedStorageBackend {

    private static final byte[] EMPTY = new byte[0];

    private final Map<DeviceId, ConcurrentSkipListMap<Long, InboxEntry>> inboxes = new ConcurrentHashMap<>();
    private final Map<DeviceId, Map<String, AcceptedSend>> sends = new ConcurrentHashMap<>();
    private final Map<String, Set<String>> devices = new ConcurrentHashMap<>();
    private final Map<String, Long> lastSeen = new ConcurrentHashMap<>();
    private final Map<DeviceId, KeyBundle> keys = new ConcurrentHashMap<>();
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private volatile long highestServerId;
    private volatile boolean closed;

    private final WriteBatch.Visitor applier = new WriteBatch.Visitor() {
        @Override
        public void append(DeviceId owner, StoredMessage message) {
            inboxes.computeIfAbsent(owner, k -> new ConcurrentSkipListMap<>())
                .put(message.serverId(), new InboxEntry(message, InboxEntry.State.PENDING));
            raise(message.serverId());
        }

        @Override
        public void markDelivered(DeviceId owner, long serverId) {
            NavigableMap<Long, InboxEntry> inbox = inboxes.get(owner);
            if (inbox != null) {
                inbox.computeIfPresent(serverId, (id, entry) -> new InboxEntry(withoutBody(entry.message()),
                    InboxEntry.State.DELIVERED));
            }
        }

        @Override
        public void remove(DeviceId owner, long serverId) {
            NavigableMap<Long, InboxEntry> inbox = inboxes.get(owner);
            if (inbox != null) {
                inbox.remove(serverId);
            }
        }

        @Override
        public void recordSend(DeviceId sender, String clientMessageId, AcceptedSend accepted) {
            sends.computeIfAbsent(sender, k -> new ConcurrentHashMap<>()).put(clientMessageId, accepted);
            raise(accepted.serverId());
        }

        @Override
        public void advanceServerId(long serverId) {
            raise(serverId);
        }
    };

    @Override
    public String name() {
        return InMemoryStorageProvider.NAME;
    }

    // ---------------------------------------------------------------- MessageStore

    @Override
    public void commit(WriteBatch batch) {
        lock.writeLock().lock();
        try {
            checkOpen();
            // Nothing here can fail half-way for valid input, so applying in order is all-or-none.
            batch.forEach(applier);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public List<StoredMessage> pending(DeviceId owner, long afterServerId, int limit) {
        if (limit <= 0) {
            throw new IllegalArgumentException("limit must be positive, was " + limit);
        }
        lock.readLock().lock();
        try {
            checkOpen();
            ConcurrentSkipListMap<Long, InboxEntry> inbox = inboxes.get(owner);
            if (inbox == null) {
                return List.of();
            }
            List<StoredMessage> page = new ArrayList<>(Math.min(limit, 64));
            for (InboxEntry entry : inbox.tailMap(afterServerId, false).values()) {
                if (entry.state() == InboxEntry.State.PENDING) {
                    page.add(entry.message());
                    if (page.size() == limit) {
                        break;
                    }
                }
            }
            return page;
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public Optional<InboxEntry> entry(DeviceId owner, long serverId) {
        checkOpen();
        ConcurrentSkipListMap<Long, InboxEntry> inbox = inboxes.get(owner);
        return inbox == null ? Optional.empty() : Optional.ofNullable(inbox.get(serverId));
    }

    @Override
    public Optional<AcceptedSend> acceptedSend(DeviceId sender, String clientMessageId) {
        checkOpen();
        Map<String, AcceptedSend> bySender = sends.get(sender);
        return bySender == null ? Optional.empty() : Optional.ofNullable(bySender.get(clientMessageId));
    }

    @Override
    public long highestServerId() {
        checkOpen();
        return highestServerId;
    }

    @Override
    public long pendingCount(DeviceId owner) {
        checkOpen();
        ConcurrentSkipListMap<Long, InboxEntry> inbox = inboxes.get(owner);
        return inbox == null ? 0 : inbox.values().stream().filter(e -> e.state() == InboxEntry.State.PENDING).count();
    }

    // ---------------------------------------------------------------- DeviceDirectory

    @Override
    public void register(DeviceId device) {
        checkOpen();
        devices.computeIfAbsent(device.user(), k -> new ConcurrentSkipListSet<>()).add(device.device());
    }

    @Override
    public List<DeviceId> devices(String user) {
        checkOpen();
        Set<String> known = devices.get(user);
        if (known == null || known.isEmpty()) {
            return List.of(DeviceId.primary(user));
        }
        java.util.TreeSet<String> all = new java.util.TreeSet<>(known);
        all.add(DeviceId.PRIMARY);
        return all.stream().map(d -> new DeviceId(user, d)).toList();
    }

    // ---------------------------------------------------------------- PresenceStore

    @Override
    public void saveLastSeen(Map<String, Long> lastSeenByUser) {
        checkOpen();
        lastSeenByUser.forEach((user, at) -> lastSeen.merge(user, at, Math::max));
    }

    @Override
    public OptionalLong lastSeen(String user) {
        checkOpen();
        Long at = lastSeen.get(user);
        return at == null ? OptionalLong.empty() : OptionalLong.of(at);
    }

    // ---------------------------------------------------------------- KeyStore

    @Override
    public void publish(DeviceId device, KeyBundle bundle) {
        checkOpen();
        keys.put(device, bundle);
    }

    @Override
    public Map<String, KeyBundle> bundles(String user) {
        checkOpen();
        Map<String, KeyBundle> out = new TreeMap<>();
        keys.forEach((device, bundle) -> {
            if (device.user().equals(user)) {
                out.put(device.device(), bundle);
            }
        });
        return out;
    }

    // ---------------------------------------------------------------- lifecycle

    @Override
    public void close() {
        closed = true;
    }

    private void checkOpen() {
        if (closed) {
            throw new StorageException("The in-memory store is closed");
        }
    }

    private void raise(long serverId) {
        if (serverId > highestServerId) {
            highestServerId = serverId;
        }
    }

    private static StoredMessage withoutBody(StoredMessage m) {
        return new StoredMessage(m.serverId(), m.kind(), m.sender(), m.recipient(), m.clientMessageId(), m.refServerId(),
            m.timestampMs(), m.contentType(), EMPTY, EMPTY);
    }
}
