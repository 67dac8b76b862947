package io.courier.storage.postgres.internal;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.courier.storage.AcceptedSend;
import io.courier.storage.CombinedStorageBackend;
import io.courier.storage.DeviceId;
import io.courier.storage.EntryId;
import io.courier.storage.InboxEntry;
import io.courier.storage.KeyBundle;
import io.courier.storage.OneTimePreKey;
import io.courier.storage.PresencePrivacy;
import io.courier.storage.SendId;
import io.courier.storage.MessageKind;
import io.courier.storage.StorageException;
import io.courier.storage.StoredMessage;
import io.courier.storage.WriteBatch;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The PostgreSQL backend. A router batch becomes one transaction in which each kind of operation
 * is one JDBC batch (appends, delivered marks, removals, sends, the id counter) whenever that has
 * the same effect as the batch's own order — always, for the batches the router writes; otherwise
 * the batch's order is kept, a run of one kind at a time.
 *
 * <p>Retention: {@code sends.accepted_at_ms} and {@code inbox.delivered_at_ms} are indexed
 * (migration V2), and each expiry call is one statement, in its own transaction, deleting at most
 * {@code limit} rows, oldest first. It locks the rows it picks with {@code SKIP LOCKED}, so it
 * never waits for (nor deadlocks with) a commit that holds one of them: such a row waits for the
 * next call, and the commit waits at most for one bounded delete.
 */
public final class PostgresBackend implements CombinedStorageBackend {

    private static final MessageKind[] KINDS = MessageKind.values();
    private static final String COLUMNS = "server_id, state, kind, sender_user, sender_device, recipient, client_id, "
        + "ref_server_id, ts_ms, content_type, payload, media";

    private final String url;
    private final HikariDataSource pool;
    private volatile long highestServerId;
    private volatile boolean closed;
    // The transaction of the batch this thread began (beginBatch), holding its inboxes' locks.
    private final ThreadLocal<Connection> batchConnection = new ThreadLocal<>();
    // The highest id in each inbox that batch locked, read under its locks.
    private final ThreadLocal<Map<DeviceId, Long>> batchHighest = ThreadLocal.withInitial(Map::of);

    private PostgresBackend(String url, HikariDataSource pool) {
        this.url = url;
        this.pool = pool;
        // One server numbers from the counter, a cluster's from the sequence (beginBatch): the
        // store's highest id is the larger, and the sequence is taken up to a counter above it.
        this.highestServerId = query("read the id counter", c -> {
            long counter;
            long sequence;
            try (PreparedStatement ps = c.prepareStatement("SELECT c.value, CASE WHEN s.is_called THEN s.last_value "
                    + "ELSE s.last_value - 1 END FROM counters c, server_ids s WHERE c.name = 'highest_server_id'");
                 ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return 0L;
                }
                counter = rs.getLong(1);
                sequence = rs.getLong(2);
            }
            if (counter > sequence) {
                try (PreparedStatement ps = c.prepareStatement("SELECT setval('server_ids', ?)")) {
                    ps.setLong(1, counter);
                    ps.executeQuery().close();
                }
            }
            return Math.max(counter, sequence);
        });
    }

    /**
     * Connects, creates the schema if needed and applies pending migrations.
     *
     * @throws StorageException naming the URL and user when the server cannot be reached or
     *     refuses the login.
     */
    public static PostgresBackend open(String url, String user, String password, String schema, int poolSize,
                                       int connectTimeoutMs) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setUsername(user);
        config.setPassword(password);
        config.setSchema(schema);
        config.setMaximumPoolSize(poolSize);
        config.setConnectionTimeout(Math.max(250, connectTimeoutMs));
        config.setInitializationFailTimeout(connectTimeoutMs);
        config.setPoolName("courier-postgres");
        config.addDataSourceProperty("reWriteBatchedInserts", "true");
        config.addDataSourceProperty("connectTimeout", Math.max(1, connectTimeoutMs / 1000));
        HikariDataSource pool;
        try {
            pool = new HikariDataSource(config);
        } catch (RuntimeException e) {
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            throw new StorageException("Cannot connect to PostgreSQL at " + url + " as '" + user + "': "
                + root.getMessage() + " (keys storage.options.url, user, password)", e);
        }
        try (Connection connection = pool.getConnection()) {
            Migrations.migrate(connection, schema);
        } catch (SQLException | RuntimeException e) {
            pool.close();
            throw new StorageException("Cannot migrate the Courier schema '" + schema + "' at " + url + ": "
                + e.getMessage(), e);
        }
        return new PostgresBackend(url, pool);
    }

    @Override
    public String name() {
        return "postgres";
    }

    // ---------------------------------------------------------------- MessageStore

    /** One operation of a batch, as the visitor saw it. */
    private record Op(int kind, DeviceId owner, long serverId, StoredMessage message, String clientId,
                      AcceptedSend accepted, long atMs) {
        static final int APPEND = 0;
        static final int MARK = 1;
        static final int REMOVE = 2;
        static final int SEND = 3;
    }

    @Override
    public boolean isShared() {
        return true;
    }

    /**
     * Opens the batch's transaction and, in one round trip, takes a transaction-scoped advisory
     * lock per inbox, in ascending key order (so two batches never wait for each other in a
     * circle), after a shared lock on all inboxes that a batch of more than
     * {@value #MAX_INBOX_LOCKS} takes exclusively instead (the lock table is bounded); reads the
     * highest id in each of those inboxes; and reserves the ids with {@code nextval} of the
     * {@code server_ids} sequence, which never waits for another transaction and is never rolled
     * back. The server runs the statements of the round trip in order, so the ids are reserved
     * once the locks are held. An inbox's key is a 64-bit hash of its owner: two inboxes that
     * share one only serialise more.
     */
    @Override
    public long[] beginBatch(Collection<DeviceId> inboxes, int ids) {
        checkOpen();
        if (batchConnection.get() != null) {
            throw new IllegalStateException("A batch is already open on this thread: commit or abort it first");
        }
        Connection c;
        try {
            c = pool.getConnection();
        } catch (SQLException e) {
            throw new StorageException("PostgreSQL at " + url + " failed to begin a batch: " + e.getMessage(), e);
        }
        long[] reserved = new long[Math.max(0, ids)];
        try {
            c.setAutoCommit(false);
            List<DeviceId> owners = List.copyOf(new LinkedHashSet<>(inboxes));
            Long[] keys = owners.stream().map(PostgresBackend::lockKey).distinct().sorted().toArray(Long[]::new);
            StringBuilder sql = new StringBuilder();
            if (keys.length > MAX_INBOX_LOCKS) {
                // PostgreSQL's lock table is shared and bounded (max_locks_per_transaction per
                // connection): a batch that writes very many inboxes locks them all at once, alone.
                sql.append("SELECT pg_advisory_xact_lock(?); ");
            } else if (keys.length > 0) {
                // Every other batch shares the lock on all inboxes, then takes its own in key
                // order: unnest yields the sorted keys in order, and the locks are taken as the rows come.
                sql.append("SELECT pg_advisory_xact_lock_shared(?), "
                    + "(SELECT count(pg_advisory_xact_lock(k)) FROM unnest(?::bigint[]) AS k); ");
            }
            if (keys.length > 0) {
                sql.append("SELECT t.u, t.d, COALESCE((SELECT max(server_id) FROM inbox WHERE owner_user = t.u "
                    + "AND owner_device = t.d), 0) FROM unnest(?::text[], ?::text[]) AS t(u, d); ");
            }
            if (reserved.length > 0) {
                sql.append("SELECT nextval('server_ids') FROM generate_series(1, ?)");
            }
            Map<DeviceId, Long> found = new HashMap<>();
            if (sql.length() > 0) {
                try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
                    int p = 1;
                    if (keys.length > 0) {
                        ps.setLong(p++, ALL_INBOXES);
                        if (keys.length <= MAX_INBOX_LOCKS) {
                            ps.setArray(p++, c.createArrayOf("bigint", keys));
                        }
                        ps.setArray(p++, c.createArrayOf("text", owners.stream().map(DeviceId::user).toArray()));
                        ps.setArray(p++, c.createArrayOf("text", owners.stream().map(DeviceId::device).toArray()));
                    }
                    if (reserved.length > 0) {
                        ps.setInt(p, reserved.length);
                    }
                    boolean results = ps.execute();
                    if (keys.length > 0) {
                        results = ps.getMoreResults(); // past the locks' row
                        try (ResultSet rs = results ? ps.getResultSet() : null) {
                            while (rs != null && rs.next()) {
                                found.put(new DeviceId(rs.getString(1), rs.getString(2)), rs.getLong(3));
                            }
                        }
                        results = reserved.length > 0 && ps.getMoreResults();
                    }
                    if (reserved.length > 0) {
                        int n = 0;
                        try (ResultSet rs = results ? ps.getResultSet() : null) {
                            while (rs != null && rs.next() && n < reserved.length) {
                                reserved[n++] = rs.getLong(1);
                            }
                        }
                        if (n != reserved.length) {
                            throw new SQLException("reserved " + n + " server ids of " + reserved.length);
                        }
                    }
                }
            }
            batchConnection.set(c);
            batchHighest.set(found);
        } catch (SQLException | RuntimeException e) {
            release(c);
            throw new StorageException("PostgreSQL at " + url + " failed to begin a batch: " + e.getMessage(), e);
        }
        Arrays.sort(reserved);
        if (reserved.length > 0) {
            synchronized (this) {
                if (reserved[reserved.length - 1] > highestServerId) {
                    highestServerId = reserved[reserved.length - 1];
                }
            }
        }
        return reserved;
    }

    // A batch locks at most this many inboxes one by one; a larger one takes ALL_INBOXES alone.
    private static final int MAX_INBOX_LOCKS = 256;
    private static final long ALL_INBOXES = 0x436f75726965724cL; // "CourierL"

    /** The advisory-lock key of {@code owner}'s inbox: a 64-bit FNV-1a hash of "user/device". */
    private static long lockKey(DeviceId owner) {
        long hash = 0xcbf29ce484222325L;
        for (byte b : (owner.user() + '/' + owner.device()).getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            hash ^= b & 0xff;
            hash *= 0x100000001b3L;
        }
        return hash;
    }

    @Override
    public Map<DeviceId, Long> lockedHighestIds() {
        return batchConnection.get() == null ? Map.of() : batchHighest.get();
    }

    @Override
    public void abortBatch() {
        Connection c = batchConnection.get();
        if (c != null) {
            batchConnection.remove();
            batchHighest.remove();
            release(c);
        }
    }

    /** Returns a batch's connection to the pool, rolling back what it did not commit. */
    private static void release(Connection c) {
        try (c) {
            if (!c.getAutoCommit()) {
                c.rollback();
            }
            c.setAutoCommit(true);
        } catch (SQLException ignored) {
            // The pool checks and replaces a connection that failed.
        }
    }

    @Override
    public void commit(WriteBatch batch) {
        Connection open = batchConnection.get();
        try {
            write(batch);
        } finally {
            if (open != null) {
                batchConnection.remove();
                batchHighest.remove();
                // write() committed or rolled back, unless it failed before its transaction began.
                release(open);
            }
        }
    }

    private void write(WriteBatch batch) {
        List<Op> ops = new ArrayList<>(batch.size());
        // One row per send: recording one again replaces it, and one INSERT ... ON CONFLICT DO
        // UPDATE may not touch a row twice, so only the last of a batch is written.
        Map<String, Op> sends = new LinkedHashMap<>();
        long[] highest = {highestServerId};
        batch.forEach(new WriteBatch.Visitor() {
            @Override
            public void append(DeviceId owner, StoredMessage m) {
                ops.add(new Op(Op.APPEND, owner, m.serverId(), m, null, null, 0));
                highest[0] = Math.max(highest[0], m.serverId());
            }

            @Override
            public void markDelivered(DeviceId owner, long serverId, long deliveredAtMs) {
                ops.add(new Op(Op.MARK, owner, serverId, null, null, null, deliveredAtMs));
            }

            @Override
            public void remove(DeviceId owner, long serverId) {
                ops.add(new Op(Op.REMOVE, owner, serverId, null, null, null, 0));
            }

            @Override
            public void recordSend(DeviceId sender, String clientMessageId, AcceptedSend accepted) {
                sends.put(sender.user() + '\u0000' + sender.device() + '\u0000' + clientMessageId,
                    new Op(Op.SEND, sender, accepted.serverId(), null, clientMessageId, accepted, 0));
                highest[0] = Math.max(highest[0], accepted.serverId());
            }

            @Override
            public void advanceServerId(long serverId) {
                highest[0] = Math.max(highest[0], serverId);
            }
        });
        batchQuery("commit a batch", c -> {
            c.setAutoCommit(false);
            try (PreparedStatement append = c.prepareStatement("INSERT INTO inbox (owner_user, owner_device, " + COLUMNS
                     + ") VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
                 PreparedStatement mark = c.prepareStatement("UPDATE inbox SET state = 1, payload = ''::bytea, "
                     + "media = ''::bytea, delivered_at_ms = ? WHERE owner_user = ? AND owner_device = ? "
                     + "AND server_id = ? AND state = 0");
                 PreparedStatement remove = c.prepareStatement(
                     "DELETE FROM inbox WHERE owner_user = ? AND owner_device = ? AND server_id = ?");
                 PreparedStatement send = c.prepareStatement("INSERT INTO sends (sender_user, sender_device, client_id, "
                     + "server_id, accepted_at_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT (sender_user, sender_device, "
                     + "client_id) DO UPDATE SET server_id = EXCLUDED.server_id, accepted_at_ms = EXCLUDED.accepted_at_ms");
                 PreparedStatement counter = c.prepareStatement(
                     "UPDATE counters SET value = GREATEST(value, ?) WHERE name = 'highest_server_id'")) {
                PreparedStatement[] statements = {append, mark, remove, send};
                for (Op op : sends.values()) {
                    add(send, op);
                }
                if (groupable(ops)) {
                    // Each statement once, as one JDBC batch: what the router's batches always allow.
                    for (Op op : ops) {
                        add(statements[op.kind()], op);
                    }
                    for (PreparedStatement statement : statements) {
                        statement.executeBatch();
                    }
                } else {
                    // Some entry is touched out of append-mark-remove order: keep the batch's order,
                    // sending each run of one kind of inbox operation as one JDBC batch.
                    int pending = -1;
                    for (Op op : ops) {
                        if (op.kind() != pending) {
                            if (pending >= 0) {
                                statements[pending].executeBatch();
                            }
                            pending = op.kind();
                        }
                        add(statements[op.kind()], op);
                    }
                    for (PreparedStatement statement : statements) {
                        statement.executeBatch();
                    }
                }
                // In a batch begun with beginBatch the ids were reserved already; writing the
                // counter here would lock its row until the commit, one batch at a time again.
                if (highest[0] > highestServerId && batchConnection.get() == null) {
                    counter.setLong(1, highest[0]);
                    counter.executeUpdate();
                }
                c.commit();
                if (highest[0] > highestServerId) {
                    highestServerId = highest[0];
                }
                return null;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        });
    }

    /**
     * True when running all appends, then all marks, then all removes has the same effect as the
     * batch's own order: every inbox entry is touched in append, mark, remove order.
     */
    private static boolean groupable(List<Op> ops) {
        Map<String, Integer> last = new java.util.HashMap<>();
        for (Op op : ops) {
            Integer previous = last.put(op.owner() + "#" + op.serverId(), op.kind());
            if (previous != null && previous > op.kind()) {
                return false;
            }
        }
        return true;
    }

    private static void add(PreparedStatement statement, Op op) {
        run(() -> {
            if (op.kind() == Op.APPEND) {
                StoredMessage m = op.message();
                statement.setString(1, op.owner().user());
                statement.setString(2, op.owner().device());
                statement.setLong(3, m.serverId());
                statement.setShort(4, (short) m.kind().ordinal());
                statement.setString(5, m.sender().user());
                statement.setString(6, m.sender().device());
                statement.setString(7, m.recipient());
                statement.setString(8, m.clientMessageId());
                statement.setLong(9, m.refServerId());
                statement.setLong(10, m.timestampMs());
                statement.setString(11, m.contentType());
                statement.setBytes(12, m.payload());
                statement.setBytes(13, m.media());
            } else if (op.kind() == Op.SEND) {
                statement.setString(1, op.owner().user());
                statement.setString(2, op.owner().device());
                statement.setString(3, op.clientId());
                statement.setLong(4, op.accepted().serverId());
                statement.setLong(5, op.accepted().acceptedAtMs());
            } else if (op.kind() == Op.MARK) {
                statement.setLong(1, op.atMs());
                statement.setString(2, op.owner().user());
                statement.setString(3, op.owner().device());
                statement.setLong(4, op.serverId());
            } else {
                statement.setString(1, op.owner().user());
                statement.setString(2, op.owner().device());
                statement.setLong(3, op.serverId());
            }
            statement.addBatch();
        });
    }

    @Override
    public List<StoredMessage> pending(DeviceId owner, long afterServerId, int limit) {
        if (limit <= 0) {
            throw new IllegalArgumentException("limit must be positive, was " + limit);
        }
        return batchQuery("read an inbox", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM inbox WHERE owner_user = ? "
                + "AND owner_device = ? AND state = 0 AND server_id > ? ORDER BY server_id LIMIT ?")) {
                ps.setString(1, owner.user());
                ps.setString(2, owner.device());
                ps.setLong(3, afterServerId);
                ps.setInt(4, limit);
                List<StoredMessage> page = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        page.add(message(rs));
                    }
                }
                return page;
            }
        });
    }

    @Override
    public Optional<InboxEntry> entry(DeviceId owner, long serverId) {
        return batchQuery("read an inbox entry", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS
                + " FROM inbox WHERE owner_user = ? AND owner_device = ? AND server_id = ?")) {
                ps.setString(1, owner.user());
                ps.setString(2, owner.device());
                ps.setLong(3, serverId);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return Optional.<InboxEntry>empty();
                    }
                    InboxEntry.State state = rs.getShort("state") == 0 ? InboxEntry.State.PENDING : InboxEntry.State.DELIVERED;
                    return Optional.of(new InboxEntry(message(rs), state));
                }
            }
        });
    }

    /** One query for the whole batch, as {@link #acceptedSends}: an index look-up per key. */
    @Override
    public Map<EntryId, InboxEntry> entries(Collection<EntryId> entries) {
        if (entries.isEmpty()) {
            checkOpen();
            return Map.of();
        }
        return batchQuery("read inbox entries", c -> {
            List<EntryId> asked = List.copyOf(new LinkedHashSet<>(entries));
            String[] users = new String[asked.size()];
            String[] devices = new String[asked.size()];
            Long[] serverIds = new Long[asked.size()];
            for (int i = 0; i < users.length; i++) {
                EntryId id = asked.get(i);
                users[i] = id.owner().user();
                devices[i] = id.owner().device();
                serverIds[i] = id.serverId();
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT k.u AS owner_user, k.d AS owner_device, i.* "
                + "FROM unnest(?::text[], ?::text[], ?::bigint[]) AS k(u, d, id) CROSS JOIN LATERAL (SELECT " + COLUMNS
                + " FROM inbox WHERE owner_user = k.u AND owner_device = k.d AND server_id = k.id LIMIT 1) i")) {
                ps.setArray(1, c.createArrayOf("text", users));
                ps.setArray(2, c.createArrayOf("text", devices));
                ps.setArray(3, c.createArrayOf("bigint", serverIds));
                Map<EntryId, InboxEntry> found = new HashMap<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        InboxEntry.State state = rs.getShort("state") == 0 ? InboxEntry.State.PENDING
                            : InboxEntry.State.DELIVERED;
                        found.put(new EntryId(new DeviceId(rs.getString("owner_user"), rs.getString("owner_device")),
                            rs.getLong("server_id")), new InboxEntry(message(rs), state));
                    }
                }
                return found;
            }
        });
    }

    private static StoredMessage message(ResultSet rs) throws SQLException {
        return new StoredMessage(rs.getLong("server_id"), KINDS[rs.getShort("kind")],
            new DeviceId(rs.getString("sender_user"), rs.getString("sender_device")), rs.getString("recipient"),
            rs.getString("client_id"), rs.getLong("ref_server_id"), rs.getLong("ts_ms"), rs.getString("content_type"),
            rs.getBytes("payload"), rs.getBytes("media"));
    }

    @Override
    public Optional<AcceptedSend> acceptedSend(DeviceId sender, String clientMessageId) {
        return batchQuery("read a send", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT server_id, accepted_at_ms FROM sends "
                + "WHERE sender_user = ? AND sender_device = ? AND client_id = ?")) {
                ps.setString(1, sender.user());
                ps.setString(2, sender.device());
                ps.setString(3, clientMessageId);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(new AcceptedSend(rs.getLong(1), rs.getLong(2)))
                        : Optional.<AcceptedSend>empty();
                }
            }
        });
    }

    /**
     * One query for the whole batch: the senders, devices and client ids go as three arrays that
     * {@code unnest} zips into rows, each looked up on {@code sends}' primary key. A send named
     * twice is looked up once. The look-up is a {@code LATERAL} sub-query with {@code LIMIT 1}, not
     * a join: a join's plan, prepared while the table was small (a new schema, before its first
     * ANALYZE), hashes the keys and scans the whole table, and the cached plan kept doing so as
     * the table grew (16 ms a query at 100,000 rows against 0.09 ms); the sub-query can only be an
     * index look-up per key.
     */
    @Override
    public Map<SendId, AcceptedSend> acceptedSends(Collection<SendId> sends) {
        if (sends.isEmpty()) {
            checkOpen();
            return Map.of();
        }
        return batchQuery("read sends", c -> {
            List<SendId> asked = List.copyOf(new LinkedHashSet<>(sends));
            String[] users = new String[asked.size()];
            String[] devices = new String[asked.size()];
            String[] clientIds = new String[asked.size()];
            for (int i = 0; i < users.length; i++) {
                SendId send = asked.get(i);
                users[i] = send.sender().user();
                devices[i] = send.sender().device();
                clientIds[i] = send.clientMessageId();
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT k.u, k.d, k.id, s.server_id, s.accepted_at_ms "
                + "FROM unnest(?::text[], ?::text[], ?::text[]) AS k(u, d, id) CROSS JOIN LATERAL (SELECT server_id, "
                + "accepted_at_ms FROM sends WHERE sender_user = k.u AND sender_device = k.d AND client_id = k.id "
                + "LIMIT 1) s")) {
                ps.setArray(1, c.createArrayOf("text", users));
                ps.setArray(2, c.createArrayOf("text", devices));
                ps.setArray(3, c.createArrayOf("text", clientIds));
                Map<SendId, AcceptedSend> found = new HashMap<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        found.put(new SendId(new DeviceId(rs.getString(1), rs.getString(2)), rs.getString(3)),
                            new AcceptedSend(rs.getLong(4), rs.getLong(5)));
                    }
                }
                return found;
            }
        });
    }

    @Override
    public long highestServerId() {
        checkOpen();
        return highestServerId;
    }

    @Override
    public long pendingCount(DeviceId owner) {
        return query("count an inbox", c -> {
            try (PreparedStatement ps = c.prepareStatement(
                "SELECT count(*) FROM inbox WHERE owner_user = ? AND owner_device = ? AND state = 0")) {
                ps.setString(1, owner.user());
                ps.setString(2, owner.device());
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        });
    }

    @Override
    public int expireSends(long acceptedBeforeMs, int limit) {
        return expire("expire de-duplication records", "DELETE FROM sends WHERE ctid = ANY(ARRAY(SELECT ctid FROM sends "
            + "WHERE accepted_at_ms < ? ORDER BY accepted_at_ms LIMIT ? FOR UPDATE SKIP LOCKED)) AND accepted_at_ms < ?",
            acceptedBeforeMs, limit);
    }

    @Override
    public int expireDelivered(long deliveredBeforeMs, int limit) {
        return expire("expire delivered entries", "DELETE FROM inbox WHERE ctid = ANY(ARRAY(SELECT ctid FROM inbox "
            + "WHERE state = 1 AND delivered_at_ms < ? ORDER BY delivered_at_ms LIMIT ? FOR UPDATE SKIP LOCKED)) "
            + "AND state = 1 AND delivered_at_ms < ?", deliveredBeforeMs, limit);
    }

    /** One bounded delete in its own transaction (the pool's connections are in auto-commit). */
    private int expire(String what, String sql, long before, int limit) {
        if (limit <= 0) {
            throw new IllegalArgumentException("limit must be positive, was " + limit);
        }
        return query(what, c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setLong(1, before);
                ps.setInt(2, limit);
                ps.setLong(3, before);
                return ps.executeUpdate();
            }
        });
    }

    // ---------------------------------------------------------------- DeviceDirectory

    @Override
    public void register(DeviceId device) {
        update("register a device", "INSERT INTO devices (user_id, device) VALUES (?, ?) ON CONFLICT DO NOTHING",
            device.user(), device.device());
    }

    @Override
    public Map<String, List<DeviceId>> devices(Collection<String> users) {
        if (users.isEmpty()) {
            checkOpen();
            return Map.of();
        }
        return batchQuery("list devices", c -> {
            Map<String, TreeSet<String>> found = new TreeMap<>();
            for (String user : users) {
                found.computeIfAbsent(user, u -> new TreeSet<>(List.of(DeviceId.PRIMARY)));
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT user_id, device FROM devices WHERE user_id = ANY(?)")) {
                ps.setArray(1, c.createArrayOf("text", found.keySet().toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        found.get(rs.getString(1)).add(rs.getString(2));
                    }
                }
            }
            Map<String, List<DeviceId>> devices = new HashMap<>();
            found.forEach((user, ids) -> devices.put(user, ids.stream().map(d -> new DeviceId(user, d)).toList()));
            return devices;
        });
    }

    @Override
    public List<DeviceId> devices(String user) {
        return batchQuery("list devices", c -> {
            TreeSet<String> found = new TreeSet<>();
            found.add(DeviceId.PRIMARY);
            try (PreparedStatement ps = c.prepareStatement("SELECT device FROM devices WHERE user_id = ?")) {
                ps.setString(1, user);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        found.add(rs.getString(1));
                    }
                }
            }
            return found.stream().map(d -> new DeviceId(user, d)).toList();
        });
    }

    // ---------------------------------------------------------------- PresenceStore

    @Override
    public void saveLastSeen(Map<String, Long> lastSeenByUser) {
        query("save last-seen times", c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO presence (user_id, last_seen_ms) VALUES (?, ?) "
                + "ON CONFLICT (user_id) DO UPDATE SET last_seen_ms = GREATEST(presence.last_seen_ms, EXCLUDED.last_seen_ms)")) {
                for (Map.Entry<String, Long> e : new TreeMap<>(lastSeenByUser).entrySet()) {
                    ps.setString(1, e.getKey());
                    ps.setLong(2, e.getValue());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            return null;
        });
    }

    @Override
    public OptionalLong lastSeen(String user) {
        return query("read last seen", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT last_seen_ms FROM presence WHERE user_id = ?")) {
                ps.setString(1, user);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
                }
            }
        });
    }

    @Override
    public void savePrivacy(String user, PresencePrivacy privacy) {
        query("save presence privacy", c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO presence_privacy (user_id, visibility, contacts) "
                + "VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET visibility = EXCLUDED.visibility, "
                + "contacts = EXCLUDED.contacts")) {
                ps.setString(1, user);
                ps.setString(2, privacy.visibility().name());
                ps.setArray(3, c.createArrayOf("text", privacy.contacts().toArray()));
                ps.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public PresencePrivacy privacy(String user) {
        return query("read presence privacy", c -> {
            try (PreparedStatement ps = c.prepareStatement(
                "SELECT visibility, contacts FROM presence_privacy WHERE user_id = ?")) {
                ps.setString(1, user);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return PresencePrivacy.DEFAULT;
                    }
                    String[] contacts = (String[]) rs.getArray(2).getArray();
                    return new PresencePrivacy(PresencePrivacy.Visibility.valueOf(rs.getString(1)), List.of(contacts));
                }
            }
        });
    }

    // ---------------------------------------------------------------- KeyStore

    @Override
    public OptionalInt publish(DeviceId device, KeyBundle bundle, List<OneTimePreKey> oneTimePreKeys, int maxSupply) {
        return query("publish keys", c -> {
            c.setAutoCommit(false);
            try {
                // One publish of a device at a time, in every process: the identity comparison and
                // the supply count below must see what the last publish left.
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_xact_lock(hashtext(?), hashtext(?))")) {
                    ps.setString(1, device.user());
                    ps.setString(2, device.device());
                    ps.executeQuery().close();
                }
                boolean newIdentity = false;
                try (PreparedStatement ps = c.prepareStatement(
                    "SELECT identity_key, identity_dh_key FROM key_bundles WHERE user_id = ? AND device = ?")) {
                    ps.setString(1, device.user());
                    ps.setString(2, device.device());
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            newIdentity = !Arrays.equals(rs.getBytes(1), bundle.identityKey())
                                || !Arrays.equals(rs.getBytes(2), bundle.identityDhKey());
                        }
                    }
                }
                if (newIdentity) {
                    try (PreparedStatement ps = c.prepareStatement(
                        "DELETE FROM one_time_pre_keys WHERE user_id = ? AND device = ?")) {
                        ps.setString(1, device.user());
                        ps.setString(2, device.device());
                        ps.executeUpdate();
                    }
                }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO key_bundles (user_id, device, identity_key, "
                    + "agreement_key, signature, identity_dh_key, identity_dh_signature, signed_pre_key_id) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, device) DO UPDATE SET "
                    + "identity_key = EXCLUDED.identity_key, agreement_key = EXCLUDED.agreement_key, "
                    + "signature = EXCLUDED.signature, identity_dh_key = EXCLUDED.identity_dh_key, "
                    + "identity_dh_signature = EXCLUDED.identity_dh_signature, "
                    + "signed_pre_key_id = EXCLUDED.signed_pre_key_id")) {
                    ps.setString(1, device.user());
                    ps.setString(2, device.device());
                    ps.setBytes(3, bundle.identityKey());
                    ps.setBytes(4, bundle.agreementKey());
                    ps.setBytes(5, bundle.signature());
                    ps.setBytes(6, bundle.identityDhKey());
                    ps.setBytes(7, bundle.identityDhSignature());
                    ps.setInt(8, bundle.signedPreKeyId());
                    ps.executeUpdate();
                }
                if (!oneTimePreKeys.isEmpty()) {
                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO one_time_pre_keys (user_id, device, "
                        + "key_id, public_key) VALUES (?, ?, ?, ?) ON CONFLICT (user_id, device, key_id) DO UPDATE SET "
                        + "public_key = EXCLUDED.public_key")) {
                        // Last of an id wins, as one statement per key would have it; a JDBC batch
                        // may not name one row twice in ON CONFLICT DO UPDATE.
                        Map<Integer, byte[]> byId = new LinkedHashMap<>();
                        for (OneTimePreKey key : oneTimePreKeys) {
                            byId.remove(key.id());
                            byId.put(key.id(), key.publicKey());
                        }
                        for (Map.Entry<Integer, byte[]> key : byId.entrySet()) {
                            ps.setString(1, device.user());
                            ps.setString(2, device.device());
                            ps.setInt(3, key.getKey());
                            ps.setBytes(4, key.getValue());
                            ps.addBatch();
                        }
                        ps.executeBatch();
                    }
                }
                int count = countPreKeys(c, device);
                if (count > maxSupply) {
                    c.rollback();
                    return OptionalInt.empty();
                }
                c.commit();
                return OptionalInt.of(count);
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        });
    }

    @Override
    public Map<String, KeyBundle> bundles(String user) {
        return query("read keys", c -> {
            Map<String, KeyBundle> found = new TreeMap<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT device, identity_key, agreement_key, signature, "
                + "identity_dh_key, identity_dh_signature, signed_pre_key_id FROM key_bundles WHERE user_id = ?")) {
                ps.setString(1, user);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        found.put(rs.getString(1), new KeyBundle(rs.getBytes(2), rs.getBytes(3), rs.getBytes(4),
                            rs.getBytes(5), rs.getBytes(6), rs.getInt(7)));
                    }
                }
            }
            return found;
        });
    }

    @Override
    public Optional<OneTimePreKey> takeOneTimePreKey(DeviceId device) {
        return query("take a one-time pre-key", c -> {
            // One statement, committed on its own: the row is locked by the inner select (concurrent
            // takers skip it and take another) and deleted with it, so no two takers get one key.
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM one_time_pre_keys WHERE (user_id, device, "
                + "key_id) = (SELECT user_id, device, key_id FROM one_time_pre_keys WHERE user_id = ? AND device = ? "
                + "ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING key_id, public_key")) {
                ps.setString(1, device.user());
                ps.setString(2, device.device());
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(new OneTimePreKey(rs.getInt(1), rs.getBytes(2))) : Optional.empty();
                }
            }
        });
    }

    @Override
    public int oneTimePreKeyCount(DeviceId device) {
        return query("count one-time pre-keys", c -> countPreKeys(c, device));
    }

    private static int countPreKeys(Connection c, DeviceId device) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
            "SELECT count(*) FROM one_time_pre_keys WHERE user_id = ? AND device = ?")) {
            ps.setString(1, device.user());
            ps.setString(2, device.device());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    // ---------------------------------------------------------------- RevocationStore

    @Override
    public void revokeTokensBefore(String user, long beforeMs) {
        java.util.Objects.requireNonNull(user, "user");
        query("record a token revocation", c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO token_revocations (user_id, revoked_before_ms) "
                + "VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET revoked_before_ms = "
                + "GREATEST(token_revocations.revoked_before_ms, EXCLUDED.revoked_before_ms)")) {
                ps.setString(1, user);
                ps.setLong(2, beforeMs);
                ps.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public OptionalLong tokensRevokedBefore(String user) {
        return query("read a token revocation", c -> {
            try (PreparedStatement ps = c.prepareStatement(
                "SELECT revoked_before_ms FROM token_revocations WHERE user_id = ?")) {
                ps.setString(1, user);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
                }
            }
        });
    }

    @Override
    public Map<String, Long> allTokenRevocations() {
        return query("read token revocations", c -> {
            Map<String, Long> found = new TreeMap<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT user_id, revoked_before_ms FROM token_revocations");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    found.put(rs.getString(1), rs.getLong(2));
                }
            }
            return found;
        });
    }

    // ---------------------------------------------------------------- plumbing

    @Override
    public void close() {
        closed = true;
        pool.close();
    }

    private void checkOpen() {
        if (closed) {
            throw new StorageException("The PostgreSQL store at " + url + " is closed");
        }
    }

    private interface Work<T> {
        T run(Connection connection) throws SQLException;
    }

    private interface Step {
        void run() throws SQLException;
    }

    /**
     * As {@link #query}, on the transaction of the batch this thread began when there is one:
     * the statements a batch's staging and commit run.
     */
    private <T> T batchQuery(String what, Work<T> work) {
        Connection open = batchConnection.get();
        if (open == null) {
            return query(what, work);
        }
        checkOpen();
        try {
            return work.run(open);
        } catch (SQLException e) {
            throw new StorageException("PostgreSQL at " + url + " failed to " + what + ": " + e.getMessage(), e);
        }
    }

    private <T> T query(String what, Work<T> work) {
        checkOpen();
        try (Connection connection = pool.getConnection()) {
            return work.run(connection);
        } catch (SQLException e) {
            throw new StorageException("PostgreSQL at " + url + " failed to " + what + ": " + e.getMessage(), e);
        }
    }

    // Its own transaction, durable when it returns, also during a batch: a batch that ends up
    // writing nothing is rolled back.
    private void update(String what, String sql, String a, String b) {
        query(what, c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setString(1, a);
                ps.setString(2, b);
                ps.executeUpdate();
            }
            return null;
        });
    }

    private static void run(Step step) {
        try {
            step.run();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
