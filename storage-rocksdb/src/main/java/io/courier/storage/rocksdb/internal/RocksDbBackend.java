package io.courier.storage.rocksdb.internal;

import io.courier.storage.AcceptedSend;
import io.courier.storage.CombinedStorageBackend;
import io.courier.storage.DeviceId;
import io.courier.storage.InboxEntry;
import io.courier.storage.KeyBundle;
import io.courier.storage.OneTimePreKey;
import io.courier.storage.PresencePrivacy;
import io.courier.storage.StorageException;
import io.courier.storage.StoredMessage;
import io.courier.storage.WriteBatch;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.LRUCache;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;
import org.rocksdb.WriteOptions;

/**
 * The RocksDB backend. One column family per kind of data; pending and delivered inbox entries
 * live in separate families so draining an inbox never walks over delivered headers. Each
 * {@link WriteBatch} becomes one atomic RocksDB write, fsynced or not as configured: the router
 * already groups many sessions' work into one batch, so this is group commit.
 *
 * <p>Retention: two index families, {@code sends-by-time} and {@code delivered-by-time}, hold one
 * empty-valued key per de-duplication record and per delivered entry, time first (see
 * {@link Codec}), so expiry is a range scan from the start of an index up to the cutoff and a
 * bounded write that deletes the records and, with one range tombstone, the scanned index keys
 * (so the next scan does not walk over them). A delivered entry's index key is deleted with the
 * entry (a read receipt removes both); a send recorded again gets a second index key and the
 * stale one is only dropped by expiry, which checks the record's own time before deleting it —
 * no read on the send path. Databases written before these families existed are indexed once
 * when opened. Commits and expiry calls take one mutex, so an expiry never deletes what a
 * commit has just written again; an expiry call is bounded, so a commit waits for at most one.
 *
 * <p>A read-write lock guards the native handle: every call holds the read side, close takes
 * the write side, so no call can touch a closed database (which would crash the JVM).
 */
public final class RocksDbBackend implements CombinedStorageBackend {

    private static final byte[] HIGHEST_SERVER_ID = "highest-server-id".getBytes(StandardCharsets.UTF_8);
    private static final byte[] RETENTION_INDEXED = "retention-indexed".getBytes(StandardCharsets.UTF_8);
    /** Token revocations live in the default family beside the counters: few, small, read whole at start. */
    private static final byte[] REVOKED_BEFORE = "revoked-before/".getBytes(StandardCharsets.UTF_8);
    private static final List<String> FAMILIES = List.of("inbox", "delivered", "sends", "devices", "presence", "keys",
        "sends-by-time", "delivered-by-time", "pre-keys");
    private static final int INDEXING_BATCH = 10_000;

    static {
        RocksDB.loadLibrary();
    }

    private final Path path;
    private final RocksDB db;
    private final DBOptions dbOptions;
    private final ColumnFamilyOptions cfOptions;
    private final LRUCache cache;
    private final WriteOptions writeOptions;
    private final List<ColumnFamilyHandle> handles;
    private final ColumnFamilyHandle meta;
    private final ColumnFamilyHandle inbox;
    private final ColumnFamilyHandle delivered;
    private final ColumnFamilyHandle sends;
    private final ColumnFamilyHandle devices;
    private final ColumnFamilyHandle presence;
    private final ColumnFamilyHandle keys;
    private final ColumnFamilyHandle sendsByTime;
    private final ColumnFamilyHandle deliveredByTime;
    private final ColumnFamilyHandle preKeys;
    /** Expiry need not be fsynced: one lost to a crash is redone by the next pass. */
    private final WriteOptions expiryWriteOptions = new WriteOptions().setSync(false);
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    /** Held by commit and by each expiry call: the one writer of the message families at a time. */
    private final ReentrantLock writeMutex = new ReentrantLock();
    private final Object presenceLock = new Object();
    private final Object revocationLock = new Object();
    // Publishes and takes of one-time pre-keys read, then write: this makes each atomic.
    private final Object preKeyLock = new Object();
    private volatile long highestServerId;
    private boolean closed;
    /**
     * Per inbox, an id below which it holds no pending entry. Delivered entries leave tombstones
     * at the head of an inbox until compaction; seeking from the floor instead of from zero keeps a
     * reconnecting device from walking over them. Commits lower it for every append (so it never
     * hides one); a scan raises it only if no commit ran while it scanned.
     */
    private final Map<DeviceId, Long> floors = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicLong commits = new java.util.concurrent.atomic.AtomicLong();
    private static final int FLOOR_LIMIT = 100_000;

    private RocksDbBackend(Path path, RocksDB db, DBOptions dbOptions, ColumnFamilyOptions cfOptions, LRUCache cache,
                           WriteOptions writeOptions, List<ColumnFamilyHandle> handles) throws RocksDBException {
        this.path = path;
        this.db = db;
        this.dbOptions = dbOptions;
        this.cfOptions = cfOptions;
        this.cache = cache;
        this.writeOptions = writeOptions;
        this.handles = handles;
        this.meta = handles.get(0);
        this.inbox = handles.get(1);
        this.delivered = handles.get(2);
        this.sends = handles.get(3);
        this.devices = handles.get(4);
        this.presence = handles.get(5);
        this.keys = handles.get(6);
        this.sendsByTime = handles.get(7);
        this.deliveredByTime = handles.get(8);
        this.preKeys = handles.get(9);
        byte[] highest = db.get(meta, HIGHEST_SERVER_ID);
        this.highestServerId = highest == null ? 0 : Codec.longOf(highest);
        if (db.get(meta, RETENTION_INDEXED) == null) {
            indexForRetention();
        }
    }

    /**
     * Indexes the records of a database written before the retention indexes existed (for a new
     * database, there are none), in bounded writes, then records that it was done. Delivered
     * entries of that time carry no delivery time: their timestamp (acceptance) stands in.
     */
    private void indexForRetention() throws RocksDBException {
        try (org.rocksdb.WriteBatch rocks = new org.rocksdb.WriteBatch()) {
            try (RocksIterator it = db.newIterator(sends)) {
                for (it.seekToFirst(); it.isValid(); it.next()) {
                    rocks.put(sendsByTime, Codec.timeKey(Codec.acceptedAtOf(it.value()), it.key()), Codec.EMPTY);
                    flushIfFull(rocks);
                }
            }
            try (RocksIterator it = db.newIterator(delivered)) {
                for (it.seekToFirst(); it.isValid(); it.next()) {
                    rocks.put(deliveredByTime, Codec.timeKey(Codec.deliveredAtOf(it.value()), it.key()), Codec.EMPTY);
                    flushIfFull(rocks);
                }
            }
            rocks.put(meta, RETENTION_INDEXED, Codec.EMPTY);
            db.write(writeOptions, rocks);
        }
    }

    private void flushIfFull(org.rocksdb.WriteBatch rocks) throws RocksDBException {
        if (rocks.count() >= INDEXING_BATCH) {
            db.write(writeOptions, rocks);
            rocks.clear();
        }
    }

    /**
     * Opens or creates the database at {@code path}.
     *
     * @throws StorageException naming the path when it cannot be created, is locked by another
     *     process, or is not a Courier database.
     */
    public static RocksDbBackend open(Path path, boolean sync, int blockCacheMb, int writeBufferMb) {
        try {
            Files.createDirectories(path);
        } catch (java.io.IOException e) {
            String reason = e instanceof java.nio.file.FileAlreadyExistsException ? "a file is in the way"
                : e instanceof java.nio.file.FileSystemException fs && fs.getReason() != null ? fs.getReason()
                : String.valueOf(e.getMessage());
            throw new StorageException("Cannot create the RocksDB directory " + path.toAbsolutePath() + ": " + reason
                + " (key storage.options.path, or data-dir)", e);
        }
        LRUCache cache = new LRUCache((long) blockCacheMb * 1024 * 1024);
        ColumnFamilyOptions cfOptions = new ColumnFamilyOptions()
            .setWriteBufferSize((long) writeBufferMb * 1024 * 1024)
            .setMaxWriteBufferNumber(3)
            .setCompressionType(CompressionType.LZ4_COMPRESSION)
            .setTableFormatConfig(new BlockBasedTableConfig().setBlockCache(cache).setCacheIndexAndFilterBlocks(true));
        DBOptions dbOptions = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true)
            .setMaxBackgroundJobs(2);
        List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
        descriptors.add(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions));
        for (String family : FAMILIES) {
            descriptors.add(new ColumnFamilyDescriptor(family.getBytes(StandardCharsets.UTF_8), cfOptions));
        }
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        RocksDB db = null;
        try {
            db = RocksDB.open(dbOptions, path.toString(), descriptors, handles);
            return new RocksDbBackend(path, db, dbOptions, cfOptions, cache, new WriteOptions().setSync(sync), handles);
        } catch (RocksDBException e) {
            handles.forEach(ColumnFamilyHandle::close);
            if (db != null) {
                db.close();
            }
            dbOptions.close();
            cfOptions.close();
            cache.close();
            throw new StorageException("Cannot open RocksDB at " + path.toAbsolutePath() + ": " + e.getMessage()
                + " (is another Courier server using this data directory?)", e);
        }
    }

    @Override
    public String name() {
        return "rocksdb";
    }

    // ---------------------------------------------------------------- MessageStore

    @Override
    public void commit(WriteBatch batch) {
        read(() -> {
            writeMutex.lock();
            try (org.rocksdb.WriteBatch rocks = new org.rocksdb.WriteBatch()) {
                BatchWriter writer = new BatchWriter(rocks);
                batch.forEach(writer);
                if (writer.highest > highestServerId) {
                    rocks.put(meta, HIGHEST_SERVER_ID, Codec.longValue(writer.highest));
                }
                db.write(writeOptions, rocks);
                if (writer.highest > highestServerId) {
                    highestServerId = writer.highest;
                }
                // Count the commit before lowering floors: a scan that started earlier then
                // refuses to raise one, and a scan that raised one first is lowered again here.
                commits.incrementAndGet();
                writer.appendedOwners.forEach((owner, lowest) -> floors.computeIfPresent(owner, (k, f) -> Math.min(f, lowest)));
            } finally {
                writeMutex.unlock();
            }
            return null;
        });
    }

    /** Turns one Courier batch into one RocksDB batch. */
    private final class BatchWriter implements WriteBatch.Visitor {
        private final org.rocksdb.WriteBatch rocks;
        // Entries appended earlier in this batch, so a later op in the same batch sees them.
        private final Map<ByteBuffer, StoredMessage> appended = new HashMap<>();
        // Entries marked delivered earlier in this batch, and when, for a remove later in it.
        private final Map<ByteBuffer, Long> deliveredAt = new HashMap<>();
        // The lowest id appended per inbox in this batch, to keep floors honest.
        final Map<DeviceId, Long> appendedOwners = new HashMap<>();
        long highest = highestServerId;

        BatchWriter(org.rocksdb.WriteBatch rocks) {
            this.rocks = rocks;
        }

        @Override
        public void append(DeviceId owner, StoredMessage message) {
            byte[] key = Codec.inboxKey(owner, message.serverId());
            put(inbox, key, Codec.encode(message));
            appended.put(ByteBuffer.wrap(key), message);
            appendedOwners.merge(owner, message.serverId(), Math::min);
            highest = Math.max(highest, message.serverId());
        }

        @Override
        public void markDelivered(DeviceId owner, long serverId, long deliveredAtMs) {
            byte[] key = Codec.inboxKey(owner, serverId);
            StoredMessage message = appended.remove(ByteBuffer.wrap(key));
            if (message == null) {
                byte[] value = get(inbox, key);
                if (value == null) {
                    return;
                }
                message = Codec.decode(serverId, value);
            }
            delete(inbox, key);
            put(delivered, key, Codec.encodeDelivered(withoutBody(message), deliveredAtMs));
            put(deliveredByTime, Codec.timeKey(deliveredAtMs, key), Codec.EMPTY);
            deliveredAt.put(ByteBuffer.wrap(key), deliveredAtMs);
        }

        @Override
        public void remove(DeviceId owner, long serverId) {
            byte[] key = Codec.inboxKey(owner, serverId);
            ByteBuffer wrapped = ByteBuffer.wrap(key);
            appended.remove(wrapped);
            // The delivered entry's index key goes with it: read messages leave nothing behind.
            Long at = deliveredAt.remove(wrapped);
            if (at == null) {
                byte[] value = get(delivered, key);
                at = value == null ? null : Codec.deliveredAtOf(value);
            }
            if (at != null) {
                delete(deliveredByTime, Codec.timeKey(at, key));
            }
            delete(inbox, key);
            delete(delivered, key);
        }

        @Override
        public void recordSend(DeviceId sender, String clientMessageId, AcceptedSend accepted) {
            byte[] key = Codec.sendKey(sender, clientMessageId);
            put(sends, key, Codec.twoLongs(accepted.serverId(), accepted.acceptedAtMs()));
            put(sendsByTime, Codec.timeKey(accepted.acceptedAtMs(), key), Codec.EMPTY);
            highest = Math.max(highest, accepted.serverId());
        }

        @Override
        public void advanceServerId(long serverId) {
            highest = Math.max(highest, serverId);
        }

        private void put(ColumnFamilyHandle family, byte[] key, byte[] value) {
            try {
                rocks.put(family, key, value);
            } catch (RocksDBException e) {
                throw failure("prepare a write", e);
            }
        }

        private void delete(ColumnFamilyHandle family, byte[] key) {
            try {
                rocks.delete(family, key);
            } catch (RocksDBException e) {
                throw failure("prepare a delete", e);
            }
        }
    }

    @Override
    public List<StoredMessage> pending(DeviceId owner, long afterServerId, int limit) {
        if (limit <= 0) {
            throw new IllegalArgumentException("limit must be positive, was " + limit);
        }
        return read(() -> {
            byte[] prefix = Codec.ownerPrefix(owner);
            List<StoredMessage> page = new ArrayList<>(Math.min(limit, 64));
            long commitsBefore = commits.get();
            long from = afterServerId == Long.MAX_VALUE ? afterServerId : afterServerId + 1;
            Long floor = floors.get(owner);
            // Only a scan from the true start of the inbox may move its floor.
            boolean fromStart = floor != null ? from <= floor : from <= 1;
            if (floor != null && floor > from) {
                from = floor;
            }
            boolean exhausted = true;
            try (RocksIterator it = db.newIterator(inbox)) {
                for (it.seek(Codec.inboxKey(prefix, from)); it.isValid(); it.next()) {
                    byte[] key = it.key();
                    if (!startsWith(key, prefix) || key.length != prefix.length + 8) {
                        break;
                    }
                    if (page.size() == limit) {
                        exhausted = false;
                        break;
                    }
                    page.add(Codec.decode(Codec.serverIdOf(key), it.value()));
                }
            }
            if (fromStart) {
                long newFloor = page.isEmpty() ? (exhausted ? highestServerId + 1 : from) : page.get(0).serverId();
                if (floors.size() >= FLOOR_LIMIT) {
                    floors.clear();
                }
                floors.compute(owner, (k, old) -> {
                    if (commits.get() != commitsBefore) {
                        return old; // a commit ran while we scanned: what we saw may be stale
                    }
                    return old == null ? Long.valueOf(newFloor) : Long.valueOf(Math.max(newFloor, old));
                });
            }
            return page;
        });
    }

    @Override
    public Optional<InboxEntry> entry(DeviceId owner, long serverId) {
        return read(() -> {
            byte[] key = Codec.inboxKey(owner, serverId);
            byte[] value = db.get(inbox, key);
            if (value != null) {
                return Optional.of(new InboxEntry(Codec.decode(serverId, value), InboxEntry.State.PENDING));
            }
            value = db.get(delivered, key);
            return value == null ? Optional.empty()
                : Optional.of(new InboxEntry(Codec.decode(serverId, value), InboxEntry.State.DELIVERED));
        });
    }

    @Override
    public Optional<AcceptedSend> acceptedSend(DeviceId sender, String clientMessageId) {
        return read(() -> {
            byte[] value = db.get(sends, Codec.sendKey(sender, clientMessageId));
            if (value == null) {
                return Optional.empty();
            }
            ByteBuffer buf = ByteBuffer.wrap(value);
            return Optional.of(new AcceptedSend(buf.getLong(), buf.getLong()));
        });
    }

    @Override
    public long highestServerId() {
        return read(() -> highestServerId);
    }

    @Override
    public long pendingCount(DeviceId owner) {
        return pending(owner, 0, Integer.MAX_VALUE).size();
    }

    @Override
    public int expireSends(long acceptedBeforeMs, int limit) {
        return expire(sendsByTime, sends, acceptedBeforeMs, limit, Codec::acceptedAtOf);
    }

    @Override
    public int expireDelivered(long deliveredBeforeMs, int limit) {
        return expire(deliveredByTime, delivered, deliveredBeforeMs, limit, Codec::deliveredAtOf);
    }

    /**
     * Walks {@code index} from its start up to {@code before}, at most {@code limit} keys; deletes
     * each indexed record whose own time is the index key's (else the record was written again
     * later, and a later index key stands for it), then the walked index keys as one range.
     */
    private int expire(ColumnFamilyHandle index, ColumnFamilyHandle records, long before, int limit,
                       java.util.function.ToLongFunction<byte[]> timeOfValue) {
        if (limit <= 0) {
            throw new IllegalArgumentException("limit must be positive, was " + limit);
        }
        return read(() -> {
            writeMutex.lock();
            try (Slice upper = new Slice(Codec.timeBound(before));
                 ReadOptions options = new ReadOptions().setIterateUpperBound(upper);
                 RocksIterator it = db.newIterator(index, options);
                 org.rocksdb.WriteBatch rocks = new org.rocksdb.WriteBatch()) {
                int walked = 0;
                byte[] first = null;
                byte[] last = null;
                for (it.seekToFirst(); it.isValid() && walked < limit; it.next()) {
                    byte[] timeKey = it.key();
                    if (first == null) {
                        first = timeKey;
                    }
                    last = timeKey;
                    byte[] key = Codec.indexedKeyOf(timeKey);
                    byte[] value = db.get(records, key);
                    if (value != null && timeOfValue.applyAsLong(value) == Codec.timeOf(timeKey)) {
                        rocks.delete(records, key);
                    }
                    walked++;
                }
                it.status();
                if (walked > 0) {
                    // [first, last + 0x00): exactly the keys walked, as no commit ran meanwhile.
                    rocks.deleteRange(index, first, Arrays.copyOf(last, last.length + 1));
                    db.write(expiryWriteOptions, rocks);
                }
                return walked;
            } finally {
                writeMutex.unlock();
            }
        });
    }

    /**
     * Compacts every column family, so that what was deleted leaves the disk now rather than
     * when RocksDB gets to it. Blocks; for tools and tests.
     */
    public void compact() {
        read(() -> {
            for (ColumnFamilyHandle handle : handles) {
                db.compactRange(handle);
            }
            return null;
        });
    }

    /**
     * The number of keys in each column family, by name, counted by a full scan. Slow; for tools
     * and tests that check nothing is left behind.
     */
    public Map<String, Long> keyCounts() {
        return read(() -> {
            Map<String, Long> counts = new TreeMap<>();
            for (ColumnFamilyHandle handle : handles) {
                long count = 0;
                try (RocksIterator it = db.newIterator(handle)) {
                    for (it.seekToFirst(); it.isValid(); it.next()) {
                        count++;
                    }
                    it.status();
                }
                counts.put(new String(handle.getName(), StandardCharsets.UTF_8), count);
            }
            return counts;
        });
    }

    // ---------------------------------------------------------------- DeviceDirectory

    @Override
    public void register(DeviceId device) {
        read(() -> {
            db.put(devices, writeOptions, Codec.deviceKey(device), new byte[0]);
            return null;
        });
    }

    @Override
    public List<DeviceId> devices(String user) {
        return read(() -> {
            TreeSet<String> found = new TreeSet<>();
            found.add(DeviceId.PRIMARY);
            byte[] prefix = Codec.userPrefix(user);
            try (RocksIterator it = db.newIterator(devices)) {
                for (it.seek(prefix); it.isValid() && startsWith(it.key(), prefix); it.next()) {
                    found.add(Codec.deviceOf(it.key(), prefix.length));
                }
            }
            return found.stream().map(d -> new DeviceId(user, d)).toList();
        });
    }

    // ---------------------------------------------------------------- PresenceStore

    @Override
    public void saveLastSeen(Map<String, Long> lastSeenByUser) {
        read(() -> {
            // Read-modify-write keeps the later time; one writer at a time keeps that true.
            synchronized (presenceLock) {
                try (org.rocksdb.WriteBatch rocks = new org.rocksdb.WriteBatch()) {
                    for (Map.Entry<String, Long> e : lastSeenByUser.entrySet()) {
                        byte[] key = e.getKey().getBytes(StandardCharsets.UTF_8);
                        byte[] old = db.get(presence, key);
                        if (old == null || Codec.longOf(old) < e.getValue()) {
                            rocks.put(presence, key, Codec.longValue(e.getValue()));
                        }
                    }
                    db.write(writeOptions, rocks);
                }
            }
            return null;
        });
    }

    @Override
    public OptionalLong lastSeen(String user) {
        return read(() -> {
            byte[] value = db.get(presence, user.getBytes(StandardCharsets.UTF_8));
            return value == null ? OptionalLong.empty() : OptionalLong.of(Codec.longOf(value));
        });
    }

    @Override
    public void savePrivacy(String user, PresencePrivacy privacy) {
        read(() -> {
            db.put(presence, writeOptions, Codec.privacyKey(user), Codec.encode(privacy));
            return null;
        });
    }

    @Override
    public PresencePrivacy privacy(String user) {
        return read(() -> {
            byte[] value = db.get(presence, Codec.privacyKey(user));
            return value == null ? PresencePrivacy.DEFAULT : Codec.decodePrivacy(value);
        });
    }

    // ---------------------------------------------------------------- KeyStore

    @Override
    public OptionalInt publish(DeviceId device, KeyBundle bundle, List<OneTimePreKey> oneTimePreKeys, int maxSupply) {
        return read(() -> {
            synchronized (preKeyLock) {
                byte[] key = Codec.deviceKey(device);
                byte[] stored = db.get(keys, key);
                KeyBundle old = stored == null ? null : Codec.decodeBundle(stored);
                boolean newIdentity = old != null && (!Arrays.equals(old.identityKey(), bundle.identityKey())
                    || !Arrays.equals(old.identityDhKey(), bundle.identityDhKey()));
                TreeSet<Integer> ids = newIdentity ? new TreeSet<>() : preKeyIds(device);
                for (OneTimePreKey preKey : oneTimePreKeys) {
                    ids.add(preKey.id());
                }
                if (ids.size() > maxSupply) {
                    return OptionalInt.empty();
                }
                try (org.rocksdb.WriteBatch rocks = new org.rocksdb.WriteBatch()) {
                    rocks.put(keys, key, Codec.encode(bundle));
                    if (newIdentity) {
                        byte[] prefix = Codec.ownerPrefix(device);
                        byte[] end = prefix.clone();
                        end[end.length - 1] = 1; // the prefix ends in a 0 separator: this is just past it
                        rocks.deleteRange(preKeys, prefix, end);
                    }
                    for (OneTimePreKey preKey : oneTimePreKeys) {
                        rocks.put(preKeys, Codec.preKeyKey(device, preKey.id()), preKey.publicKey());
                    }
                    db.write(writeOptions, rocks);
                }
                return OptionalInt.of(ids.size());
            }
        });
    }

    @Override
    public Optional<OneTimePreKey> takeOneTimePreKey(DeviceId device) {
        return read(() -> {
            synchronized (preKeyLock) {
                byte[] prefix = Codec.ownerPrefix(device);
                try (RocksIterator it = db.newIterator(preKeys)) {
                    it.seek(prefix);
                    if (!it.isValid() || !startsWith(it.key(), prefix)) {
                        return Optional.empty();
                    }
                    byte[] key = it.key();
                    OneTimePreKey taken = new OneTimePreKey(Codec.preKeyIdOf(key), it.value());
                    // Durable before it is handed out: a crash must not give the same key out again.
                    db.delete(preKeys, writeOptions, key);
                    return Optional.of(taken);
                }
            }
        });
    }

    @Override
    public int oneTimePreKeyCount(DeviceId device) {
        return read(() -> preKeyIds(device).size());
    }

    private TreeSet<Integer> preKeyIds(DeviceId device) {
        TreeSet<Integer> ids = new TreeSet<>();
        byte[] prefix = Codec.ownerPrefix(device);
        try (RocksIterator it = db.newIterator(preKeys)) {
            for (it.seek(prefix); it.isValid() && startsWith(it.key(), prefix); it.next()) {
                ids.add(Codec.preKeyIdOf(it.key()));
            }
        }
        return ids;
    }

    @Override
    public Map<String, KeyBundle> bundles(String user) {
        return read(() -> {
            Map<String, KeyBundle> found = new TreeMap<>();
            byte[] prefix = Codec.userPrefix(user);
            try (RocksIterator it = db.newIterator(keys)) {
                for (it.seek(prefix); it.isValid() && startsWith(it.key(), prefix); it.next()) {
                    found.put(Codec.deviceOf(it.key(), prefix.length), Codec.decodeBundle(it.value()));
                }
            }
            return found;
        });
    }

    // ---------------------------------------------------------------- RevocationStore

    @Override
    public void revokeTokensBefore(String user, long beforeMs) {
        byte[] key = revocationKey(user);
        read(() -> {
            // Read, keep the later, write: one writer at a time so two revocations cannot interleave.
            synchronized (revocationLock) {
                byte[] stored = db.get(meta, key);
                if (stored == null || Codec.longOf(stored) < beforeMs) {
                    // fsynced whatever storage.options.sync says: a lost revocation is a token back in use.
                    try (WriteOptions durable = new WriteOptions().setSync(true)) {
                        db.put(meta, durable, key, Codec.longValue(beforeMs));
                    }
                }
            }
            return null;
        });
    }

    @Override
    public OptionalLong tokensRevokedBefore(String user) {
        byte[] key = revocationKey(user);
        return read(() -> {
            byte[] stored = db.get(meta, key);
            return stored == null ? OptionalLong.empty() : OptionalLong.of(Codec.longOf(stored));
        });
    }

    @Override
    public Map<String, Long> allTokenRevocations() {
        return read(() -> {
            Map<String, Long> found = new TreeMap<>();
            try (RocksIterator it = db.newIterator(meta)) {
                for (it.seek(REVOKED_BEFORE); it.isValid() && startsWith(it.key(), REVOKED_BEFORE); it.next()) {
                    byte[] key = it.key();
                    found.put(new String(key, REVOKED_BEFORE.length, key.length - REVOKED_BEFORE.length,
                        StandardCharsets.UTF_8), Codec.longOf(it.value()));
                }
            }
            return found;
        });
    }

    private static byte[] revocationKey(String user) {
        java.util.Objects.requireNonNull(user, "user");
        byte[] name = user.getBytes(StandardCharsets.UTF_8);
        byte[] key = Arrays.copyOf(REVOKED_BEFORE, REVOKED_BEFORE.length + name.length);
        System.arraycopy(name, 0, key, REVOKED_BEFORE.length, name.length);
        return key;
    }

    // ---------------------------------------------------------------- lifecycle and plumbing

    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            try {
                db.syncWal();
            } catch (RocksDBException e) {
                // Closing anyway; every acknowledged batch was already written to the WAL.
            }
            handles.forEach(ColumnFamilyHandle::close);
            db.close();
            writeOptions.close();
            expiryWriteOptions.close();
            dbOptions.close();
            cfOptions.close();
            cache.close();
        } finally {
            lock.writeLock().unlock();
        }
    }

    private interface Body<T> {
        T run() throws RocksDBException;
    }

    private <T> T read(Body<T> body) {
        lock.readLock().lock();
        try {
            if (closed) {
                throw new StorageException("The RocksDB store at " + path.toAbsolutePath() + " is closed");
            }
            return body.run();
        } catch (RocksDBException e) {
            throw failure("access", e);
        } finally {
            lock.readLock().unlock();
        }
    }

    private byte[] get(ColumnFamilyHandle family, byte[] key) {
        try {
            return db.get(family, key);
        } catch (RocksDBException e) {
            throw failure("read", e);
        }
    }

    private StorageException failure(String what, RocksDBException e) {
        return new StorageException("RocksDB at " + path.toAbsolutePath() + " failed to " + what + ": " + e.getMessage(), e);
    }

    private static boolean startsWith(byte[] key, byte[] prefix) {
        return key.length >= prefix.length && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }

    private static StoredMessage withoutBody(StoredMessage m) {
        return new StoredMessage(m.serverId(), m.kind(), m.sender(), m.recipient(), m.clientMessageId(), m.refServerId(),
            m.timestampMs(), m.contentType(), null, null);
    }
}
