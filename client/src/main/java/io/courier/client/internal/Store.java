package io.courier.client.internal;

import io.courier.client.CourierStoreException;
import io.courier.client.Direction;
import io.courier.client.Media;
import io.courier.client.Message;
import io.courier.client.MessageState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The client's SQLite database. Confined to the client's one thread: not thread-safe. Statements
 * run inside the transaction the caller opened ({@link #commit()} ends it; auto-commit is off).
 *
 * <p>The file is opened in WAL mode with an exclusive lock held for as long as it is open, so a
 * second client on the same file is refused rather than allowed to send the outbox twice.
 * {@code synchronous=NORMAL}: a commit survives the process being killed at any point; a power
 * cut may lose the last commits (as on Android's default).
 */
final class Store implements AutoCloseable {

    /** The schema this code writes; older files are migrated on open, newer ones refused. */
    static final int SCHEMA_VERSION = 2;

    static final int OUT = 0;
    static final int IN = 1;
    static final int KIND_ACK = 0;
    static final int KIND_READ = 1;

    private static final String COLUMNS = "local_id, conversation, client_id, server_id, direction, sender, "
        + "sender_device, recipient, content_type, payload, state, created_ms, accepted_ms, failure_code, failure_text, "
        + "media_url, media_type, media_size, media_sha256, media_file";

    private final Path file;
    private final Connection db;
    private final PreparedStatement insertMessage;
    private final PreparedStatement acceptOwn;
    private final PreparedStatement byServerId;
    private final PreparedStatement byLocalId;
    private final PreparedStatement ownByClientId;
    private final PreparedStatement raiseState;
    private final PreparedStatement insertReceipt;
    private final PreparedStatement receiptsFor;
    private final PreparedStatement setMeta;
    private final PreparedStatement addUnconfirmed;
    private final PreparedStatement removeUnconfirmed;
    private final PreparedStatement pendingAfter;

    private Store(Path file, Connection db) throws SQLException {
        this.file = file;
        this.db = db;
        insertMessage = db.prepareStatement("INSERT INTO messages (conversation, client_id, server_id, direction, "
            + "sender, sender_device, recipient, content_type, payload, state, created_ms, accepted_ms, media_url, "
            + "media_type, media_size, media_sha256, media_file, upload_state) "
            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", Statement.RETURN_GENERATED_KEYS);
        acceptOwn = db.prepareStatement("UPDATE messages SET state = ?, server_id = ?, accepted_ms = ? "
            + "WHERE local_id = ? AND state = 0");
        byServerId = db.prepareStatement("SELECT " + COLUMNS + " FROM messages WHERE server_id = ?");
        byLocalId = db.prepareStatement("SELECT " + COLUMNS + " FROM messages WHERE local_id = ?");
        ownByClientId = db.prepareStatement("SELECT " + COLUMNS + " FROM messages WHERE client_id = ? AND direction = 0 "
            + "AND sender = ? AND sender_device = ?");
        raiseState = db.prepareStatement("UPDATE messages SET state = ? WHERE local_id = ? AND state < ? AND state <> 4");
        insertReceipt = db.prepareStatement("INSERT OR IGNORE INTO receipts (server_id, message_server_id, "
            + "message_client_id, status, by_user, by_device, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)");
        receiptsFor = db.prepareStatement("SELECT MAX(status) FROM receipts WHERE message_server_id = ?");
        setMeta = db.prepareStatement("INSERT INTO meta (key, value) VALUES (?, ?) "
            + "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
        addUnconfirmed = db.prepareStatement("INSERT OR IGNORE INTO unconfirmed (kind, server_id) VALUES (?, ?)");
        removeUnconfirmed = db.prepareStatement("DELETE FROM unconfirmed WHERE kind = ? AND server_id = ?");
        // A message whose file is still being uploaded waits in the outbox without holding up the others.
        pendingAfter = db.prepareStatement("SELECT " + COLUMNS + " FROM messages WHERE state = 0 AND local_id > ? "
            + "AND (upload_state IS NULL OR upload_state = 1) ORDER BY local_id LIMIT ?");
    }

    /**
     * Opens {@code file}, creating it and its folder when absent, and migrates its schema.
     *
     * @throws CourierStoreException naming the file: corrupted or not a database, locked by another
     *     client, read-only, written by a newer client, or not creatable
     */
    static Store open(Path file) {
        Path absolute = file.toAbsolutePath();
        refuseReadOnly(absolute);
        try {
            Path parent = absolute.getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
        } catch (IOException e) {
            throw new CourierStoreException(absolute, "Cannot create the folder of the client database " + absolute
                + ": " + e.getMessage() + "; choose a database path in a writable folder", e);
        }
        Connection db = null;
        try {
            db = DriverManager.getConnection("jdbc:sqlite:" + absolute);
            try (Statement s = db.createStatement()) {
                // Held until close: a second client on this file would send the same outbox twice.
                s.execute("PRAGMA locking_mode = EXCLUSIVE");
                s.execute("PRAGMA busy_timeout = 100");
                try (ResultSet mode = s.executeQuery("PRAGMA journal_mode = WAL")) {
                    mode.next();
                }
                s.execute("PRAGMA synchronous = NORMAL");
            }
            db.setAutoCommit(false);
            migrate(absolute, db);
            db.commit();
            return new Store(absolute, db);
        } catch (SQLException e) {
            closeQuietly(db, e);
            throw failure(absolute, e, "open");
        } catch (RuntimeException e) {
            closeQuietly(db, e);
            throw e;
        }
    }

    private static void refuseReadOnly(Path file) {
        for (Path p : List.of(file, file.resolveSibling(file.getFileName() + "-wal"))) {
            if (!Files.exists(p)) {
                continue;
            }
            boolean writable = Files.isWritable(p);
            try {
                // Files.isWritable says yes to root whatever the mode: a file marked read-only is
                // still not ours to write.
                writable &= Files.getPosixFilePermissions(p).contains(PosixFilePermission.OWNER_WRITE);
            } catch (UnsupportedOperationException | IOException e) {
                // No POSIX permissions here (Windows): isWritable alone decides.
            }
            if (!writable) {
                throw new CourierStoreException(p, "The client database " + p + " is read-only; make it writable "
                    + "(chmod u+w " + p + ") or choose another database file", null);
            }
        }
    }

    private static void migrate(Path file, Connection db) throws SQLException {
        try (Statement s = db.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
            int version = 0;
            try (ResultSet rs = s.executeQuery("SELECT MAX(version) FROM schema_version")) {
                if (rs.next()) {
                    version = rs.getInt(1);
                }
            }
            if (version > SCHEMA_VERSION) {
                throw new CourierStoreException(file, "The client database " + file + " has schema version " + version
                    + ", written by a newer client; this one knows versions up to " + SCHEMA_VERSION
                    + ": use the newer client, or another database file", null);
            }
            if (version < 1) {
                s.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
                s.execute("CREATE TABLE messages ("
                    + "local_id INTEGER PRIMARY KEY AUTOINCREMENT, conversation TEXT NOT NULL, client_id TEXT NOT NULL, "
                    + "server_id INTEGER, direction INTEGER NOT NULL, sender TEXT NOT NULL, sender_device TEXT NOT NULL, "
                    + "recipient TEXT NOT NULL, content_type TEXT NOT NULL, payload BLOB NOT NULL, "
                    + "state INTEGER NOT NULL, created_ms INTEGER NOT NULL, accepted_ms INTEGER, "
                    + "failure_code TEXT, failure_text TEXT)");
                // De-duplication of what arrives: one row per server id (NULLs, the pending, are distinct).
                s.execute("CREATE UNIQUE INDEX messages_by_server_id ON messages (server_id)");
                s.execute("CREATE INDEX messages_by_conversation ON messages (conversation, local_id)");
                s.execute("CREATE INDEX messages_by_client_id ON messages (client_id)");
                s.execute("CREATE INDEX messages_outbox ON messages (local_id) WHERE state = 0");
                s.execute("CREATE TABLE receipts (server_id INTEGER PRIMARY KEY, message_server_id INTEGER NOT NULL, "
                    + "message_client_id TEXT NOT NULL, status INTEGER NOT NULL, by_user TEXT NOT NULL, "
                    + "by_device TEXT NOT NULL, at_ms INTEGER NOT NULL)");
                s.execute("CREATE INDEX receipts_by_message ON receipts (message_server_id)");
                // Acknowledgements and read receipts not yet known to be recorded by the server.
                s.execute("CREATE TABLE unconfirmed (kind INTEGER NOT NULL, server_id INTEGER NOT NULL, "
                    + "attempts INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (kind, server_id)) WITHOUT ROWID");
                s.execute("INSERT INTO schema_version (version) VALUES (1)");
            }
            if (version < 2) {
                // Media: the blob's reference, the local file, and for an outgoing message whether
                // its upload is done (NULL: no media, 0: not uploaded yet, 1: uploaded).
                s.execute("ALTER TABLE messages ADD COLUMN media_url TEXT");
                s.execute("ALTER TABLE messages ADD COLUMN media_type TEXT");
                s.execute("ALTER TABLE messages ADD COLUMN media_size INTEGER");
                s.execute("ALTER TABLE messages ADD COLUMN media_sha256 BLOB");
                s.execute("ALTER TABLE messages ADD COLUMN media_file TEXT");
                s.execute("ALTER TABLE messages ADD COLUMN upload_state INTEGER");
                s.execute("CREATE INDEX messages_uploads ON messages (local_id) WHERE state = 0 AND upload_state = 0");
                s.execute("INSERT INTO schema_version (version) VALUES (2)");
            }
        }
    }

    Path file() {
        return file;
    }

    void commit() {
        try {
            db.commit();
        } catch (SQLException e) {
            throw failure(file, e, "commit");
        }
    }

    void rollback() {
        try {
            db.rollback();
        } catch (SQLException e) {
            throw failure(file, e, "roll back");
        }
    }

    // ---------------------------------------------------------------- writes

    /** A new outgoing message, PENDING; returns its local id. */
    long insertOutgoing(String clientId, String recipient, String sender, String senderDevice, String contentType,
                        byte[] payload, long nowMs) throws SQLException {
        return insert(recipient, clientId, null, OUT, sender, senderDevice, recipient, contentType, payload,
            MessageState.PENDING, nowMs, null, null, null);
    }

    /** A new outgoing message carrying {@code media} (its url empty), PENDING until uploaded; returns its local id. */
    long insertOutgoingMedia(String clientId, String recipient, String sender, String senderDevice,
                             String contentType, byte[] payload, long nowMs, Media media) throws SQLException {
        return insert(recipient, clientId, null, OUT, sender, senderDevice, recipient, contentType, payload,
            MessageState.PENDING, nowMs, null, media, 0);
    }

    /** Outgoing messages whose file is not uploaded yet, oldest first. */
    List<Message> waitingUploads() throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT " + COLUMNS + " FROM messages WHERE state = 0 "
            + "AND upload_state = 0 ORDER BY local_id")) {
            return many(ps);
        }
    }

    /** The upload of a pending message's file is done: it may be sent, referring to {@code url}. */
    boolean uploaded(long localId, String url) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("UPDATE messages SET upload_state = 1, media_url = ? "
            + "WHERE local_id = ? AND state = 0 AND upload_state = 0")) {
            ps.setString(1, url);
            ps.setLong(2, localId);
            return ps.executeUpdate() == 1;
        }
    }

    /** Where the message's file now is on this device. */
    void setMediaFile(long localId, Path path) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("UPDATE messages SET media_file = ? WHERE local_id = ?")) {
            ps.setString(1, path.toString());
            ps.setLong(2, localId);
            ps.executeUpdate();
        }
    }

    /** A message that arrived; null when its server id is stored already (a duplicate). */
    Long insertArrived(String conversation, Direction direction, long serverId, String clientId, String sender,
                       String senderDevice, String recipient, String contentType, byte[] payload, MessageState state,
                       long nowMs, long acceptedMs, Media media) throws SQLException {
        if (exists(serverId)) {
            return null;
        }
        return insert(conversation, clientId, serverId, direction == Direction.OUTGOING ? OUT : IN, sender,
            senderDevice, recipient, contentType, payload, state, nowMs, acceptedMs, media, null);
    }

    private boolean exists(long serverId) throws SQLException {
        byServerId.setLong(1, serverId);
        try (ResultSet rs = byServerId.executeQuery()) {
            return rs.next();
        }
    }

    private long insert(String conversation, String clientId, Long serverId, int direction, String sender,
                        String senderDevice, String recipient, String contentType, byte[] payload, MessageState state,
                        long createdMs, Long acceptedMs, Media media, Integer uploadState) throws SQLException {
        insertMessage.setString(1, conversation);
        insertMessage.setString(2, clientId);
        if (serverId == null) {
            insertMessage.setNull(3, java.sql.Types.INTEGER);
        } else {
            insertMessage.setLong(3, serverId);
        }
        insertMessage.setInt(4, direction);
        insertMessage.setString(5, sender);
        insertMessage.setString(6, senderDevice);
        insertMessage.setString(7, recipient);
        insertMessage.setString(8, contentType);
        insertMessage.setBytes(9, payload);
        insertMessage.setInt(10, state.ordinal());
        insertMessage.setLong(11, createdMs);
        if (acceptedMs == null) {
            insertMessage.setNull(12, java.sql.Types.INTEGER);
        } else {
            insertMessage.setLong(12, acceptedMs);
        }
        if (media == null) {
            for (int i = 13; i <= 18; i++) {
                insertMessage.setNull(i, java.sql.Types.NULL);
            }
        } else {
            insertMessage.setString(13, media.url());
            insertMessage.setString(14, media.contentType());
            insertMessage.setLong(15, media.sizeBytes());
            insertMessage.setBytes(16, media.sha256());
            insertMessage.setString(17, media.file() == null ? null : media.file().toString());
            if (uploadState == null) {
                insertMessage.setNull(18, java.sql.Types.INTEGER);
            } else {
                insertMessage.setInt(18, uploadState);
            }
        }
        insertMessage.executeUpdate();
        try (ResultSet keys = insertMessage.getGeneratedKeys()) {
            keys.next();
            return keys.getLong(1);
        }
    }

    /**
     * Records the server's acceptance of a pending message of this device, and any receipt that
     * came before it. True when it changed something.
     */
    boolean accept(long localId, long serverId, long acceptedMs) throws SQLException {
        MessageState state = MessageState.SENT;
        MessageState receipted = receiptState(serverId);
        if (receipted != null) {
            state = receipted;
        }
        acceptOwn.setInt(1, state.ordinal());
        acceptOwn.setLong(2, serverId);
        acceptOwn.setLong(3, acceptedMs);
        acceptOwn.setLong(4, localId);
        return acceptOwn.executeUpdate() == 1;
    }

    /** The highest receipt status stored for a message, or null. */
    MessageState receiptState(long messageServerId) throws SQLException {
        receiptsFor.setLong(1, messageServerId);
        try (ResultSet rs = receiptsFor.executeQuery()) {
            if (rs.next()) {
                int status = rs.getInt(1);
                if (!rs.wasNull()) {
                    return status == 2 ? MessageState.READ : MessageState.DELIVERED;
                }
            }
        }
        return null;
    }

    /** Marks a pending message FAILED with the server's code and text. */
    boolean fail(long localId, String code, String text) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement(
            "UPDATE messages SET state = 4, failure_code = ?, failure_text = ? WHERE local_id = ? AND state = 0")) {
            ps.setString(1, code);
            ps.setString(2, text);
            ps.setLong(3, localId);
            return ps.executeUpdate() == 1;
        }
    }

    /** Stores a receipt; false when its own server id is stored already. */
    boolean insertReceipt(long serverId, long messageServerId, String messageClientId, int status, String byUser,
                          String byDevice, long atMs) throws SQLException {
        insertReceipt.setLong(1, serverId);
        insertReceipt.setLong(2, messageServerId);
        insertReceipt.setString(3, messageClientId);
        insertReceipt.setInt(4, status);
        insertReceipt.setString(5, byUser);
        insertReceipt.setString(6, byDevice);
        insertReceipt.setLong(7, atMs);
        return insertReceipt.executeUpdate() == 1;
    }

    /** Raises an outgoing message's state (never lowers it, never touches FAILED). True when changed. */
    boolean raise(long localId, MessageState to) throws SQLException {
        raiseState.setInt(1, to.ordinal());
        raiseState.setLong(2, localId);
        raiseState.setInt(3, to.ordinal());
        return raiseState.executeUpdate() == 1;
    }

    void setResumePoint(long serverId) throws SQLException {
        setMeta.setString(1, "resume_after_server_id");
        setMeta.setLong(2, serverId);
        setMeta.executeUpdate();
    }

    long resumePoint() throws SQLException {
        try (Statement s = db.createStatement();
             ResultSet rs = s.executeQuery("SELECT value FROM meta WHERE key = 'resume_after_server_id'")) {
            return rs.next() ? rs.getLong(1) : 0;
        }
    }

    void addUnconfirmed(int kind, long serverId) throws SQLException {
        addUnconfirmed.setInt(1, kind);
        addUnconfirmed.setLong(2, serverId);
        addUnconfirmed.executeUpdate();
    }

    void removeUnconfirmed(int kind, long[] ids) throws SQLException {
        for (long id : ids) {
            removeUnconfirmed.setInt(1, kind);
            removeUnconfirmed.setLong(2, id);
            removeUnconfirmed.addBatch();
        }
        removeUnconfirmed.executeBatch();
    }

    /**
     * The unconfirmed ids of {@code kind}, each counted as tried once more; those tried more than
     * {@code maxAttempts} times are given up (deleted) first.
     */
    List<Long> retryUnconfirmed(int kind, int maxAttempts) throws SQLException {
        try (PreparedStatement drop = db.prepareStatement("DELETE FROM unconfirmed WHERE kind = ? AND attempts >= ?");
             PreparedStatement bump = db.prepareStatement("UPDATE unconfirmed SET attempts = attempts + 1 WHERE kind = ?");
             PreparedStatement all = db.prepareStatement(
                 "SELECT server_id FROM unconfirmed WHERE kind = ? ORDER BY server_id")) {
            drop.setInt(1, kind);
            drop.setInt(2, maxAttempts);
            drop.executeUpdate();
            bump.setInt(1, kind);
            bump.executeUpdate();
            all.setInt(1, kind);
            List<Long> ids = new ArrayList<>();
            try (ResultSet rs = all.executeQuery()) {
                while (rs.next()) {
                    ids.add(rs.getLong(1));
                }
            }
            return ids;
        }
    }

    /** Marks incoming messages read; returns their server ids. */
    List<Long> markRead(String conversation, long upToLocalId) throws SQLException {
        List<Long> ids = new ArrayList<>();
        try (PreparedStatement select = db.prepareStatement("SELECT server_id FROM messages WHERE conversation = ? "
            + "AND direction = 1 AND state = 2 AND local_id <= ? ORDER BY local_id")) {
            select.setString(1, conversation);
            select.setLong(2, upToLocalId);
            try (ResultSet rs = select.executeQuery()) {
                while (rs.next()) {
                    ids.add(rs.getLong(1));
                }
            }
        }
        try (PreparedStatement update = db.prepareStatement("UPDATE messages SET state = 3 WHERE conversation = ? "
            + "AND direction = 1 AND state = 2 AND local_id <= ?")) {
            update.setString(1, conversation);
            update.setLong(2, upToLocalId);
            update.executeUpdate();
        }
        for (long id : ids) {
            addUnconfirmed(KIND_READ, id);
        }
        return ids;
    }

    // ---------------------------------------------------------------- reads

    Message byLocalId(long localId) throws SQLException {
        byLocalId.setLong(1, localId);
        return one(byLocalId);
    }

    Message byServerId(long serverId) throws SQLException {
        byServerId.setLong(1, serverId);
        return one(byServerId);
    }

    Message ownByClientId(String clientId, String user, String device) throws SQLException {
        ownByClientId.setString(1, clientId);
        ownByClientId.setString(2, user);
        ownByClientId.setString(3, device);
        return one(ownByClientId);
    }

    Message anyByClientId(String clientId) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT " + COLUMNS + " FROM messages WHERE client_id = ? "
            + "ORDER BY direction, local_id LIMIT 1")) {
            ps.setString(1, clientId);
            return one(ps);
        }
    }

    /** Pending messages after {@code afterLocalId}, in order. */
    List<Message> pendingAfter(long afterLocalId, int limit) throws SQLException {
        pendingAfter.setLong(1, afterLocalId);
        pendingAfter.setInt(2, limit);
        return many(pendingAfter);
    }

    int pendingCount() throws SQLException {
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM messages WHERE state = 0")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    List<Message> history(String conversation, int limit) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT * FROM (SELECT " + COLUMNS + " FROM messages WHERE "
            + "conversation = ? ORDER BY local_id DESC LIMIT ?) ORDER BY local_id")) {
            ps.setString(1, conversation);
            ps.setInt(2, limit);
            return many(ps);
        }
    }

    int unreadCount(String conversation) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement(
            "SELECT COUNT(*) FROM messages WHERE conversation = ? AND direction = 1 AND state = 2")) {
            ps.setString(1, conversation);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    Map<String, Integer> unreadCounts() throws SQLException {
        Map<String, Integer> counts = new LinkedHashMap<>();
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("SELECT conversation, COUNT(*) FROM "
            + "messages WHERE direction = 1 AND state = 2 GROUP BY conversation ORDER BY conversation")) {
            while (rs.next()) {
                counts.put(rs.getString(1), rs.getInt(2));
            }
        }
        return counts;
    }

    List<String> conversations() throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery(
            "SELECT conversation FROM messages GROUP BY conversation ORDER BY MAX(local_id) DESC")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    private static Message one(PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            return rs.next() ? row(rs) : null;
        }
    }

    private static List<Message> many(PreparedStatement ps) throws SQLException {
        List<Message> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(row(rs));
            }
        }
        return out;
    }

    private static Message row(ResultSet rs) throws SQLException {
        long serverId = rs.getLong(4);
        long acceptedMs = rs.getLong(13);
        boolean accepted = !rs.wasNull();
        return new Message(rs.getLong(1), rs.getString(2), rs.getString(3), serverId,
            rs.getInt(5) == OUT ? Direction.OUTGOING : Direction.INCOMING, rs.getString(6), rs.getString(7),
            rs.getString(8), rs.getString(9), rs.getBytes(10), MessageState.values()[rs.getInt(11)],
            Instant.ofEpochMilli(rs.getLong(12)), accepted ? Instant.ofEpochMilli(acceptedMs) : null,
            rs.getString(14), rs.getString(15), media(rs));
    }

    private static Media media(ResultSet rs) throws SQLException {
        String type = rs.getString(17);
        if (type == null) {
            return null;
        }
        String url = rs.getString(16);
        String file = rs.getString(20);
        return new Media(url == null ? "" : url, type, rs.getLong(18), rs.getBytes(19),
            file == null ? null : Path.of(file));
    }

    @Override
    public void close() {
        try {
            db.close();
        } catch (SQLException e) {
            throw failure(file, e, "close");
        }
    }

    /** The exception a user sees for {@code e}: it names the file and what to do. */
    static CourierStoreException failure(Path file, SQLException e, String doing) {
        int code = e.getErrorCode() & 0xff;
        String text = switch (code) {
            case 5, 6 -> "The client database " + file + " is locked by another process (another client on the same "
                + "file?); close that client, or give this one another database file";
            case 8 -> "The client database " + file + " is read-only; make it and its folder writable, or choose "
                + "another database file";
            case 11, 26 -> "The client database " + file + " is corrupted or is not a Courier client database ("
                + e.getMessage() + "); it was left as it is: restore it from a backup, or move it aside to start "
                + "with an empty one (what its outbox held would not be sent)";
            case 13 -> "The disk holding the client database " + file + " is full; free some space";
            case 14 -> "Cannot open the client database " + file + " (" + e.getMessage()
                + "); check that its folder exists and is writable";
            default -> "The client database " + file + " failed to " + doing + ": " + e.getMessage();
        };
        return new CourierStoreException(file, text, e);
    }

    private static void closeQuietly(Connection db, Exception cause) {
        if (db != null) {
            try {
                db.close();
            } catch (SQLException e) {
                cause.addSuppressed(e);
            }
        }
    }
}
