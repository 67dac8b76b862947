package io.courier.storage.memory;

import io.courier.storage.AcceptedSend;
import io.courier.storage.CombinedStorageBackend;
import io.courier.storage.DeviceId;
import io.courier.storage.InboxEntry;
import io.courier.storage.KeyBundle;
import io.courier.storage.MessageKind;
import io.courier.storage.OneTimePreKey;
import io.courier.storage.PresencePrivacy;
import io.courier.storage.StorageException;
import io.courier.storage.StoredMessage;
import io.courier.storage.WriteBatch;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The {@code memory} backend: every store on the heap of this process. "Durable" here means "in
 * this process's memory": {@link #close()} or a restart loses everything. For tests, benchmarks of
 * the rest of the server, and trying Courier out.
 *
 * <p>Message store: guarded by one {@link ReentrantReadWriteLock}. {@link #commit} validates the
 * whole batch, then applies it under the write lock, so it is all or none and readers (who take
 * the read lock) see a batch entirely or not at all. Each inbox keeps its pending entries in a
 * {@link TreeMap} by server id, so {@link #pending} is a range scan that never walks over
 * delivered entries, and {@link #pendingCount} is O(1).
 *
 * <p>What is kept long — a de-duplication record per send, a header per delivered entry, until
 * retention expires them — is packed into {@link CompactRecords} (large byte arrays indexed by
 * primitive hash tables) rather than held as objects, so the garbage collector neither copies nor
 * scans it however much the store holds: a few records live as objects only while pending.
 * Expiry takes the oldest first from each table's heap, O(log n) a record, never looking at
 * anything not yet due.
 *
 * <p>Where the SPI is silent: appending a server id the inbox already holds replaces that entry
 * (as a put would on disk), and recording a send again replaces the earlier record. A batch with a
 * missing (null) argument is refused whole with a {@link StorageException}. Delivered entries keep
 * everything but their payload and media.
 *
 * <p>Device directory, presence and keys are independent single-key updates, so they use
 * concurrent maps and no lock. Key bundles are copied in and out, so no caller can change what
 * another reads.
 */
final class InMemoryStorageBackend implements CombinedStorageBackend {

    private static final byte[] EMPTY = new byte[0];

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    // Guarded by lock.
    private final Map<DeviceId, Inbox> inboxes = new HashMap<>();
    // Key: sender and client message id; time: accepted at; value: the server id.
    private final CompactRecords sends = new CompactRecords();
    // Key: owner and server id; time: delivered at; value: the entry without its payload and media.
    private final CompactRecords delivered = new CompactRecords();
    private long highestServerId;

    // Each value set always holds DeviceId.PRIMARY, so devices(user) is a plain, sorted copy.
    private final ConcurrentMap<String, ConcurrentSkipListSet<String>> devices = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Long> lastSeen = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, PresencePrivacy> privacy = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, ConcurrentSkipListMap<String, KeyBundle>> keys = new ConcurrentHashMap<>();
    // Each device's one-time pre-keys by id; the map is also the lock of that device's keys.
    private final ConcurrentMap<DeviceId, TreeMap<Integer, byte[]>> preKeys = new ConcurrentHashMap<>();
    private final ConcurrentSkipListMap<String, Long> revocations = new ConcurrentSkipListMap<>();

    private volatile boolean closed;

    // Reused: only the writer holding the write lock touches them.
    private final Validator validator = new Validator();
    private final Applier applier = new Applier();

    /** One device's pending entries. Guarded by the backend's lock; dropped when empty. */
    private static final class Inbox {
        final TreeMap<Long, StoredMessage> pending = new TreeMap<>();
    }

    @Override
    public String name() {
        return InMemoryStorageProvider.NAME;
    }

    // ---------------------------------------------------------------- MessageStore

    /** Commits change maps on the heap under a lock held only by other commits and readers. */
    @Override
    public boolean commitNeverWaits() {
        return true;
    }

    @Override
    public void commit(WriteBatch batch) {
        Objects.requireNonNull(batch, "batch");
        lock.writeLock().lock();
        try {
            checkOpen();
            // Validate first: once every operation is known to be well formed, applying cannot fail
            // half-way (short of running out of heap), which is what makes the batch all or none.
            validator.index = 0;
            batch.forEach(validator);
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
            Inbox inbox = inboxes.get(owner);
            if (inbox == null || inbox.pending.isEmpty()) {
                return List.of();
            }
            List<StoredMessage> page = new ArrayList<>(Math.min(limit, inbox.pending.size()));
            for (StoredMessage message : inbox.pending.tailMap(afterServerId, false).values()) {
                page.add(message);
                if (page.size() == limit) {
                    break;
                }
            }
            return Collections.unmodifiableList(page);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public Optional<InboxEntry> entry(DeviceId owner, long serverId) {
        lock.readLock().lock();
        try {
            checkOpen();
            Inbox inbox = inboxes.get(owner);
            StoredMessage pending = inbox == null ? null : inbox.pending.get(serverId);
            if (pending != null) {
                return Optional.of(new InboxEntry(pending, InboxEntry.State.PENDING));
            }
            long address = delivered.get(deliveredKey(owner, serverId));
            return address < 0 ? Optional.empty()
                : Optional.of(new InboxEntry(header(delivered.valueAt(address)), InboxEntry.State.DELIVERED));
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public Optional<AcceptedSend> acceptedSend(DeviceId sender, String clientMessageId) {
        lock.readLock().lock();
        try {
            checkOpen();
            long address = sends.get(sendKey(sender, clientMessageId));
            return address < 0 ? Optional.empty()
                : Optional.of(new AcceptedSend(ByteBuffer.wrap(sends.valueAt(address)).getLong(), sends.timeAt(address)));
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public long highestServerId() {
        lock.readLock().lock();
        try {
            checkOpen();
            return highestServerId;
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public long pendingCount(DeviceId owner) {
        lock.readLock().lock();
        try {
            checkOpen();
            Inbox inbox = inboxes.get(owner);
            return inbox == null ? 0 : inbox.pending.size();
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public int expireSends(long acceptedBeforeMs, int limit) {
        requirePositive(limit);
        lock.writeLock().lock();
        try {
            checkOpen();
            return sends.expire(acceptedBeforeMs, limit);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public int expireDelivered(long deliveredBeforeMs, int limit) {
        requirePositive(limit);
        lock.writeLock().lock();
        try {
            checkOpen();
            return delivered.expire(deliveredBeforeMs, limit);
        } finally {
            lock.writeLock().unlock();
        }
    }

    private static void requirePositive(int limit) {
        if (limit <= 0) {
            throw new IllegalArgumentException("limit must be positive, was " + limit);
        }
    }

    /** Rejects, before anything is applied, an operation that could not be applied. */
    private static final class Validator implements WriteBatch.Visitor {
        int index;

        @Override
        public void append(DeviceId owner, StoredMessage message) {
            require(owner, "append", "owner");
            require(message, "append", "message");
            index++;
        }

        @Override
        public void markDelivered(DeviceId owner, long serverId, long deliveredAtMs) {
            require(owner, "markDelivered", "owner");
            index++;
        }

        @Override
        public void remove(DeviceId owner, long serverId) {
            require(owner, "remove", "owner");
            index++;
        }

        @Override
        public void recordSend(DeviceId sender, String clientMessageId, AcceptedSend accepted) {
            require(sender, "recordSend", "sender");
            require(clientMessageId, "recordSend", "clientMessageId");
            require(accepted, "recordSend", "accepted");
            index++;
        }

        @Override
        public void advanceServerId(long serverId) {
            index++;
        }

        private void require(Object value, String operation, String argument) {
            if (value == null) {
                throw new StorageException("Write batch rejected, nothing applied: operation #" + index + " ("
                    + operation + ") has no " + argument);
            }
        }
    }

    /** Applies a validated batch. Runs under the write lock. */
    private final class Applier implements WriteBatch.Visitor {

        @Override
        public void append(DeviceId owner, StoredMessage message) {
            Inbox inbox = inboxes.computeIfAbsent(owner, k -> new Inbox());
            // Appending an id the inbox already holds replaces that entry, as a put would on disk.
            delivered.remove(deliveredKey(owner, message.serverId()));
            inbox.pending.put(message.serverId(), message);
            raise(message.serverId());
        }

        @Override
        public void markDelivered(DeviceId owner, long serverId, long deliveredAtMs) {
            Inbox inbox = inboxes.get(owner);
            if (inbox != null) {
                StoredMessage message = inbox.pending.remove(serverId);
                if (message != null) {
                    delivered.put(deliveredKey(owner, serverId), deliveredAtMs, headerBytes(message));
                    if (inbox.pending.isEmpty()) {
                        inboxes.remove(owner);
                    }
                }
            }
        }

        @Override
        public void remove(DeviceId owner, long serverId) {
            Inbox inbox = inboxes.get(owner);
            if (inbox != null) {
                inbox.pending.remove(serverId);
                if (inbox.pending.isEmpty()) {
                    inboxes.remove(owner);
                }
            }
            delivered.remove(deliveredKey(owner, serverId));
        }

        @Override
        public void recordSend(DeviceId sender, String clientMessageId, AcceptedSend accepted) {
            sends.put(sendKey(sender, clientMessageId), accepted.acceptedAtMs(), new Writer().i64(accepted.serverId()).done());
            raise(accepted.serverId());
        }

        @Override
        public void advanceServerId(long serverId) {
            raise(serverId);
        }

        private void raise(long serverId) {
            if (serverId > highestServerId) {
                highestServerId = serverId;
            }
        }
    }

    private static byte[] sendKey(DeviceId sender, String clientMessageId) {
        return new Writer().str(sender.user()).str(sender.device()).str(clientMessageId).done();
    }

    private static byte[] deliveredKey(DeviceId owner, long serverId) {
        return new Writer().str(owner.user()).str(owner.device()).i64(serverId).done();
    }

    /** A delivered entry keeps ids, sender and metadata; the payload and media are no longer needed. */
    private static byte[] headerBytes(StoredMessage m) {
        return new Writer().i64(m.serverId()).i8(m.kind().ordinal()).str(m.sender().user()).str(m.sender().device())
            .str(m.recipient()).str(m.clientMessageId()).i64(m.refServerId()).i64(m.timestampMs())
            .str(m.contentType()).done();
    }

    private static StoredMessage header(byte[] bytes) {
        ByteBuffer in = ByteBuffer.wrap(bytes);
        long serverId = in.getLong();
        MessageKind kind = KINDS[in.get() & 0xff];
        DeviceId sender = new DeviceId(str(in), str(in));
        return new StoredMessage(serverId, kind, sender, str(in), str(in), in.getLong(), in.getLong(), str(in), EMPTY, EMPTY);
    }

    private static final MessageKind[] KINDS = MessageKind.values();

    /** Builds a record's bytes: fixed-width longs and bytes, strings as a length and UTF-8. */
    private static final class Writer {
        private byte[] bytes = new byte[64];
        private int length;

        Writer i64(long value) {
            ensure(8);
            for (int i = 0; i < 8; i++) {
                bytes[length++] = (byte) (value >>> (56 - 8 * i));
            }
            return this;
        }

        Writer i8(int value) {
            ensure(1);
            bytes[length++] = (byte) value;
            return this;
        }

        Writer str(String value) {
            byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
            ensure(4 + utf8.length);
            for (int i = 0; i < 4; i++) {
                bytes[length++] = (byte) (utf8.length >>> (24 - 8 * i));
            }
            System.arraycopy(utf8, 0, bytes, length, utf8.length);
            length += utf8.length;
            return this;
        }

        byte[] done() {
            return Arrays.copyOf(bytes, length);
        }

        private void ensure(int more) {
            if (length + more > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + more));
            }
        }
    }

    /** Reads a string {@link Writer#str} wrote (its bytes are big-endian, as a ByteBuffer reads them). */
    private static String str(ByteBuffer in) {
        byte[] utf8 = new byte[in.getInt()];
        in.get(utf8);
        return new String(utf8, StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------- DeviceDirectory

    @Override
    public void register(DeviceId device) {
        Objects.requireNonNull(device, "device");
        checkOpen();
        devices.computeIfAbsent(device.user(), user -> {
            ConcurrentSkipListSet<String> set = new ConcurrentSkipListSet<>();
            set.add(DeviceId.PRIMARY);
            return set;
        }).add(device.device());
    }

    @Override
    public List<DeviceId> devices(String user) {
        checkOpen();
        DeviceId primary = DeviceId.primary(user); // also rejects a malformed user id
        ConcurrentSkipListSet<String> known = devices.get(user);
        if (known == null) {
            return List.of(primary);
        }
        List<DeviceId> out = new ArrayList<>(known.size());
        for (String device : known) {
            out.add(new DeviceId(user, device));
        }
        return Collections.unmodifiableList(out);
    }

    // ---------------------------------------------------------------- PresenceStore

    @Override
    public void saveLastSeen(Map<String, Long> lastSeenByUser) {
        Objects.requireNonNull(lastSeenByUser, "lastSeenByUser");
        checkOpen();
        lastSeenByUser.forEach((user, at) -> {
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(at, () -> "last seen of " + user);
        });
        lastSeenByUser.forEach((user, at) -> lastSeen.merge(user, at, Math::max));
    }

    @Override
    public OptionalLong lastSeen(String user) {
        checkOpen();
        Long at = user == null ? null : lastSeen.get(user);
        return at == null ? OptionalLong.empty() : OptionalLong.of(at);
    }

    @Override
    public void savePrivacy(String user, PresencePrivacy settings) {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(settings, "privacy");
        checkOpen();
        privacy.put(user, settings);
    }

    @Override
    public PresencePrivacy privacy(String user) {
        checkOpen();
        return user == null ? PresencePrivacy.DEFAULT : privacy.getOrDefault(user, PresencePrivacy.DEFAULT);
    }

    // ---------------------------------------------------------------- KeyStore

    @Override
    public OptionalInt publish(DeviceId device, KeyBundle bundle, List<OneTimePreKey> oneTimePreKeys, int maxSupply) {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(bundle, "bundle");
        Objects.requireNonNull(oneTimePreKeys, "oneTimePreKeys");
        checkOpen();
        // One device's bundle and supply change together under that device's supply lock, so a
        // take never sees a new bundle with an old identity's keys.
        TreeMap<Integer, byte[]> supply = preKeys.computeIfAbsent(device, d -> new TreeMap<>());
        synchronized (supply) {
            ConcurrentSkipListMap<String, KeyBundle> byDevice =
                keys.computeIfAbsent(device.user(), user -> new ConcurrentSkipListMap<>());
            KeyBundle old = byDevice.get(device.device());
            boolean newIdentity = old != null && (!Arrays.equals(old.identityKey(), bundle.identityKey())
                || !Arrays.equals(old.identityDhKey(), bundle.identityDhKey()));
            TreeMap<Integer, byte[]> next = newIdentity ? new TreeMap<>() : new TreeMap<>(supply);
            for (OneTimePreKey key : oneTimePreKeys) {
                next.put(key.id(), key.publicKey().clone());
            }
            if (next.size() > maxSupply) {
                return OptionalInt.empty();
            }
            // Copies, so that the caller changing its arrays later cannot change what was published.
            byDevice.put(device.device(), bundle.copy());
            supply.clear();
            supply.putAll(next);
            return OptionalInt.of(supply.size());
        }
    }

    @Override
    public Map<String, KeyBundle> bundles(String user) {
        checkOpen();
        Map<String, KeyBundle> byDevice = user == null ? null : keys.get(user);
        if (byDevice == null) {
            return Map.of();
        }
        TreeMap<String, KeyBundle> out = new TreeMap<>();
        byDevice.forEach((device, bundle) -> out.put(device, bundle.copy()));
        return Collections.unmodifiableSortedMap(out);
    }

    @Override
    public Optional<OneTimePreKey> takeOneTimePreKey(DeviceId device) {
        Objects.requireNonNull(device, "device");
        checkOpen();
        TreeMap<Integer, byte[]> supply = preKeys.get(device);
        if (supply == null) {
            return Optional.empty();
        }
        synchronized (supply) {
            Map.Entry<Integer, byte[]> first = supply.pollFirstEntry();
            return first == null ? Optional.empty() : Optional.of(new OneTimePreKey(first.getKey(), first.getValue().clone()));
        }
    }

    @Override
    public int oneTimePreKeyCount(DeviceId device) {
        Objects.requireNonNull(device, "device");
        checkOpen();
        TreeMap<Integer, byte[]> supply = preKeys.get(device);
        if (supply == null) {
            return 0;
        }
        synchronized (supply) {
            return supply.size();
        }
    }

    // ---------------------------------------------------------------- RevocationStore

    @Override
    public void revokeTokensBefore(String user, long beforeMs) {
        Objects.requireNonNull(user, "user");
        checkOpen();
        revocations.merge(user, beforeMs, Math::max);
    }

    @Override
    public OptionalLong tokensRevokedBefore(String user) {
        checkOpen();
        Long before = user == null ? null : revocations.get(user);
        return before == null ? OptionalLong.empty() : OptionalLong.of(before);
    }

    @Override
    public Map<String, Long> allTokenRevocations() {
        checkOpen();
        return Collections.unmodifiableSortedMap(new TreeMap<>(revocations));
    }

    // ---------------------------------------------------------------- lifecycle

    /** Forgets everything. Idempotent; afterwards every method throws {@link StorageException}. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            inboxes.clear();
            sends.clear();
            delivered.clear();
            devices.clear();
            lastSeen.clear();
            privacy.clear();
            keys.clear();
            revocations.clear();
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new StorageException("The in-memory store is closed");
        }
    }

    @Override
    public String toString() {
        return "InMemoryStorageBackend[" + (closed ? "closed" : "open") + "]";
    }
}
