package io.courier.client.internal;

import io.courier.client.CourierStoreException;
import io.courier.client.Direction;
import io.courier.client.Encryption;
import io.courier.client.crypto.Reason;
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
    static final int SCHEMA_VERSION = 3;

    static final int OUT = 0;
    static final int IN = 1;
    static final int KIND_ACK = 0;
    static final int KIND_READ = 1;

    private static final String COLUMNS = "local_id, conversation, client_id, server_id, direction, sender, "
        + "sender_device, recipient, content_type, payload, state, created_ms, accepted_ms, failure_code, failure_text, "
        + "media_url, media_type, media_size, media_sha256, media_file, encryption, undecryptable";

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
            if (version < 3) {
                migrateToEncryption(s);
            }
        }
    }

    /**
     * Schema 3, end-to-end encryption (docs/E2E.md). Private keys live here and nowhere else: the
     * device's identity, its signed pre-keys (replaced ones until they expire) and its unused
     * one-time pre-keys, whose rows are deleted in the transaction that makes a session with them.
     */
    private static void migrateToEncryption(Statement s) throws SQLException {
        // How a message was encrypted (Encryption's ordinal, 0 for the messages of before), why an
        // incoming one could not be decrypted (a Reason's name), and for an outgoing one whether
        // its ciphertexts are stored (NULL: sent plain, 0: not yet, 1: in e2e_outbox).
        s.execute("ALTER TABLE messages ADD COLUMN encryption INTEGER NOT NULL DEFAULT 0");
        s.execute("ALTER TABLE messages ADD COLUMN undecryptable TEXT");
        s.execute("ALTER TABLE messages ADD COLUMN e2e_ready INTEGER");
        // An encrypted file: its key (E2E.md section 8) and the blob that is uploaded in its place.
        s.execute("ALTER TABLE messages ADD COLUMN media_key BLOB");
        s.execute("ALTER TABLE messages ADD COLUMN media_file_name TEXT");
        s.execute("ALTER TABLE messages ADD COLUMN blob_size INTEGER");
        s.execute("ALTER TABLE messages ADD COLUMN blob_sha256 BLOB");
        s.execute("ALTER TABLE messages ADD COLUMN blob_file TEXT");
        s.execute("CREATE TABLE e2e_identity (id INTEGER PRIMARY KEY CHECK (id = 1), identity BLOB NOT NULL, "
            + "published_spk INTEGER)");
        s.execute("CREATE TABLE e2e_signed_pre_keys (id INTEGER PRIMARY KEY, record BLOB NOT NULL, "
            + "created_ms INTEGER NOT NULL, replaced_ms INTEGER)");
        // published: 0 until a KeyBundlePublish carrying it was answered.
        s.execute("CREATE TABLE e2e_one_time_pre_keys (id INTEGER PRIMARY KEY, record BLOB NOT NULL, "
            + "published INTEGER NOT NULL DEFAULT 0)");
        s.execute("CREATE TABLE e2e_sessions (user TEXT NOT NULL, device TEXT NOT NULL, record BLOB NOT NULL, "
            + "PRIMARY KEY (user, device)) WITHOUT ROWID");
        // Trust on first use: each remote device's Ed25519 identity key as first seen (or accepted since).
        s.execute("CREATE TABLE e2e_identities (user TEXT NOT NULL, device TEXT NOT NULL, identity_key BLOB NOT NULL, "
            + "PRIMARY KEY (user, device)) WITHOUT ROWID");
        // Users whose devices were fetched at least once: a user with none is then known to have none.
        s.execute("CREATE TABLE e2e_users (user TEXT PRIMARY KEY) WITHOUT ROWID");
        // The newest key of a conversation is the one it sends with; all of them decrypt.
        s.execute("CREATE TABLE e2e_shared_keys (key_id BLOB PRIMARY KEY, conversation TEXT NOT NULL, "
            + "key BLOB NOT NULL, added INTEGER NOT NULL)");
        s.execute("CREATE INDEX e2e_shared_keys_by_conversation ON e2e_shared_keys (conversation, added)");
        // An outgoing message's ciphertexts: one per device (Signal) or one with empty user and device
        // (shared key), written with the session records that made them, reused by every resend.
        s.execute("CREATE TABLE e2e_outbox (local_id INTEGER NOT NULL, user TEXT NOT NULL, device TEXT NOT NULL, "
            + "payload BLOB NOT NULL, PRIMARY KEY (local_id, user, device)) WITHOUT ROWID");
        s.execute("INSERT INTO schema_version (version) VALUES (3)");
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

    boolean exists(long serverId) throws SQLException {
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

    // ---------------------------------------------------------------- end-to-end encryption

    /** The serialized identity of this device, or null when it has none yet. */
    byte[] identity() throws SQLException {
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery("SELECT identity FROM e2e_identity")) {
            return rs.next() ? rs.getBytes(1) : null;
        }
    }

    void saveIdentity(byte[] identity) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("INSERT INTO e2e_identity (id, identity) VALUES (1, ?)")) {
            ps.setBytes(1, identity);
            ps.executeUpdate();
        }
    }

    /** The id of the signed pre-key the server has (its publish was answered), or null. */
    Integer publishedSignedPreKey() throws SQLException {
        try (Statement st = db.createStatement();
             ResultSet rs = st.executeQuery("SELECT published_spk FROM e2e_identity")) {
            if (rs.next()) {
                int id = rs.getInt(1);
                return rs.wasNull() ? null : id;
            }
            return null;
        }
    }

    void setPublishedSignedPreKey(int id) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("UPDATE e2e_identity SET published_spk = ?")) {
            ps.setInt(1, id);
            ps.executeUpdate();
        }
    }

    /** A stored signed pre-key: the serialized record and when it was made (and replaced, or null). */
    record StoredPreKey(int id, byte[] record, long createdMs, Long replacedMs) {
    }

    /** The current signed pre-key (the newest not replaced), or null. */
    StoredPreKey currentSignedPreKey() throws SQLException {
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery("SELECT id, record, created_ms "
            + "FROM e2e_signed_pre_keys WHERE replaced_ms IS NULL ORDER BY created_ms DESC, id DESC LIMIT 1")) {
            return rs.next() ? new StoredPreKey(rs.getInt(1), rs.getBytes(2), rs.getLong(3), null) : null;
        }
    }

    byte[] signedPreKey(int id) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT record FROM e2e_signed_pre_keys WHERE id = ?")) {
            ps.setInt(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getBytes(1) : null;
            }
        }
    }

    int signedPreKeyCount() throws SQLException {
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM e2e_signed_pre_keys")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** Stores a new current signed pre-key; every earlier one counts as replaced from {@code nowMs}. */
    void insertSignedPreKey(int id, byte[] record, long nowMs) throws SQLException {
        try (PreparedStatement replace = db.prepareStatement("UPDATE e2e_signed_pre_keys SET replaced_ms = ? "
                 + "WHERE replaced_ms IS NULL");
             PreparedStatement insert = db.prepareStatement("INSERT INTO e2e_signed_pre_keys (id, record, created_ms) "
                 + "VALUES (?, ?, ?)")) {
            replace.setLong(1, nowMs);
            replace.executeUpdate();
            insert.setInt(1, id);
            insert.setBytes(2, record);
            insert.setLong(3, nowMs);
            insert.executeUpdate();
        }
    }

    /** Erases the private halves of signed pre-keys replaced before {@code beforeMs}; how many. */
    int eraseSignedPreKeysReplacedBefore(long beforeMs) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("DELETE FROM e2e_signed_pre_keys WHERE replaced_ms < ?")) {
            ps.setLong(1, beforeMs);
            return ps.executeUpdate();
        }
    }

    /** The largest id used by a key of this table ({@code e2e_signed_pre_keys} or {@code e2e_one_time_pre_keys}). */
    int counter(String name) throws SQLException {
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery(
            "SELECT value FROM meta WHERE key = '" + name + "'")) {
            return rs.next() ? (int) rs.getLong(1) : 0;
        }
    }

    void setCounter(String name, int value) throws SQLException {
        setMeta.setString(1, name);
        setMeta.setLong(2, value);
        setMeta.executeUpdate();
    }

    void insertOneTimePreKey(int id, byte[] record) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("INSERT INTO e2e_one_time_pre_keys (id, record) VALUES (?, ?)")) {
            ps.setInt(1, id);
            ps.setBytes(2, record);
            ps.executeUpdate();
        }
    }

    /** One-time pre-keys not yet on the server, oldest first, at most {@code limit}. */
    List<byte[]> unpublishedOneTimePreKeys(int limit) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT record FROM e2e_one_time_pre_keys WHERE published = 0 "
            + "ORDER BY id LIMIT ?")) {
            ps.setInt(1, limit);
            List<byte[]> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getBytes(1));
                }
            }
            return out;
        }
    }

    void markOneTimePreKeysPublished(List<Integer> ids) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("UPDATE e2e_one_time_pre_keys SET published = 1 WHERE id = ?")) {
            for (int id : ids) {
                ps.setInt(1, id);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    byte[] oneTimePreKey(int id) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT record FROM e2e_one_time_pre_keys WHERE id = ?")) {
            ps.setInt(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getBytes(1) : null;
            }
        }
    }

    int oneTimePreKeyCount() throws SQLException {
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM e2e_one_time_pre_keys")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** Erases a one-time pre-key's private half: a session was made with it. */
    void deleteOneTimePreKey(int id) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("DELETE FROM e2e_one_time_pre_keys WHERE id = ?")) {
            ps.setInt(1, id);
            ps.executeUpdate();
        }
    }

    byte[] session(String user, String device) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT record FROM e2e_sessions WHERE user = ? AND device = ?")) {
            ps.setString(1, user);
            ps.setString(2, device);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getBytes(1) : null;
            }
        }
    }

    void saveSession(String user, String device, byte[] record) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("INSERT INTO e2e_sessions (user, device, record) VALUES (?, ?, ?) "
            + "ON CONFLICT(user, device) DO UPDATE SET record = excluded.record")) {
            ps.setString(1, user);
            ps.setString(2, device);
            ps.setBytes(3, record);
            ps.executeUpdate();
        }
    }

    void deleteSession(String user, String device) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("DELETE FROM e2e_sessions WHERE user = ? AND device = ?")) {
            ps.setString(1, user);
            ps.setString(2, device);
            ps.executeUpdate();
        }
    }

    /** The identity keys known for {@code user}'s devices, by device id in order. */
    Map<String, byte[]> identityKeys(String user) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT device, identity_key FROM e2e_identities WHERE user = ? "
            + "ORDER BY device")) {
            ps.setString(1, user);
            Map<String, byte[]> out = new LinkedHashMap<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getBytes(2));
                }
            }
            return out;
        }
    }

    void saveIdentityKey(String user, String device, byte[] key) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("INSERT INTO e2e_identities (user, device, identity_key) "
            + "VALUES (?, ?, ?) ON CONFLICT(user, device) DO UPDATE SET identity_key = excluded.identity_key")) {
            ps.setString(1, user);
            ps.setString(2, device);
            ps.setBytes(3, key);
            ps.executeUpdate();
        }
    }

    void deleteIdentityKey(String user, String device) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("DELETE FROM e2e_identities WHERE user = ? AND device = ?")) {
            ps.setString(1, user);
            ps.setString(2, device);
            ps.executeUpdate();
        }
    }

    boolean wasFetched(String user) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT 1 FROM e2e_users WHERE user = ?")) {
            ps.setString(1, user);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    void markFetched(String user) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("INSERT OR IGNORE INTO e2e_users (user) VALUES (?)")) {
            ps.setString(1, user);
            ps.executeUpdate();
        }
    }

    void addSharedKey(String conversation, byte[] keyId, byte[] key, long nowMs) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("INSERT INTO e2e_shared_keys (key_id, conversation, key, added) "
            + "VALUES (?, ?, ?, (SELECT COALESCE(MAX(added), 0) + 1 FROM e2e_shared_keys)) ON CONFLICT(key_id) DO UPDATE "
            + "SET conversation = excluded.conversation, added = excluded.added")) {
            ps.setBytes(1, keyId);
            ps.setString(2, conversation);
            ps.setBytes(3, key);
            ps.executeUpdate();
        }
    }

    /** The key {@code conversation} sends with (the newest given), or null. */
    byte[] sharedKey(String conversation) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT key FROM e2e_shared_keys WHERE conversation = ? "
            + "ORDER BY added DESC LIMIT 1")) {
            ps.setString(1, conversation);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getBytes(1) : null;
            }
        }
    }

    byte[] sharedKeyById(byte[] keyId) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT key FROM e2e_shared_keys WHERE key_id = ?")) {
            ps.setBytes(1, keyId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getBytes(1) : null;
            }
        }
    }

    /** One receiving device (empty user and device: the one shared-key ciphertext). */
    record DeviceKey(String user, String device) {
    }

    /** The stored ciphertexts of an outgoing message, by device, in order. */
    Map<DeviceKey, byte[]> outboxPayloads(long localId) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT user, device, payload FROM e2e_outbox WHERE local_id = ? "
            + "ORDER BY user, device")) {
            ps.setLong(1, localId);
            Map<DeviceKey, byte[]> out = new LinkedHashMap<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(new DeviceKey(rs.getString(1), rs.getString(2)), rs.getBytes(3));
                }
            }
            return out;
        }
    }

    void addOutboxPayload(long localId, String user, String device, byte[] payload) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("INSERT OR REPLACE INTO e2e_outbox (local_id, user, device, "
            + "payload) VALUES (?, ?, ?, ?)")) {
            ps.setLong(1, localId);
            ps.setString(2, user);
            ps.setString(3, device);
            ps.setBytes(4, payload);
            ps.executeUpdate();
        }
    }

    void deleteOutboxPayload(long localId, String user, String device) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("DELETE FROM e2e_outbox WHERE local_id = ? AND user = ? "
            + "AND device = ?")) {
            ps.setLong(1, localId);
            ps.setString(2, user);
            ps.setString(3, device);
            ps.executeUpdate();
        }
    }

    /** The ciphertexts of a message the server has (or that failed) are of no more use. */
    void deleteOutboxPayloads(long localId) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("DELETE FROM e2e_outbox WHERE local_id = ?")) {
            ps.setLong(1, localId);
            ps.executeUpdate();
        }
    }

    /** Whether an outgoing message's ciphertexts are complete: null never encrypted, 0 incomplete, 1 ready. */
    Integer e2eReady(long localId) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT e2e_ready FROM messages WHERE local_id = ?")) {
            ps.setLong(1, localId);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    int v = rs.getInt(1);
                    return rs.wasNull() ? null : v;
                }
                return null;
            }
        }
    }

    void setE2eReady(long localId, int ready, Encryption encryption) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("UPDATE messages SET e2e_ready = ?, encryption = ? "
            + "WHERE local_id = ?")) {
            ps.setInt(1, ready);
            ps.setInt(2, encryption.ordinal());
            ps.setLong(3, localId);
            ps.executeUpdate();
        }
    }

    /** Records how an arrived message was encrypted, and why it could not be decrypted (or null). */
    void setDecryption(long localId, Encryption encryption, Reason undecryptable) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("UPDATE messages SET encryption = ?, undecryptable = ? "
            + "WHERE local_id = ?")) {
            ps.setInt(1, encryption.ordinal());
            ps.setString(2, undecryptable == null ? null : undecryptable.name());
            ps.setLong(3, localId);
            ps.executeUpdate();
        }
    }

    /**
     * An encrypted file's key and blob (E2E.md section 8): for an outgoing one the blob file made
     * from the copy, for an arrived one the size and SHA-256 of the blob to download.
     */
    record MediaSecret(byte[] mediaKey, String fileName, long blobSize, byte[] blobSha256, Path blobFile) {
    }

    void setMediaSecret(long localId, MediaSecret secret) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("UPDATE messages SET media_key = ?, media_file_name = ?, "
            + "blob_size = ?, blob_sha256 = ?, blob_file = ? WHERE local_id = ?")) {
            ps.setBytes(1, secret.mediaKey());
            ps.setString(2, secret.fileName());
            ps.setLong(3, secret.blobSize());
            ps.setBytes(4, secret.blobSha256());
            ps.setString(5, secret.blobFile() == null ? null : secret.blobFile().toString());
            ps.setLong(6, localId);
            ps.executeUpdate();
        }
    }

    MediaSecret mediaSecret(long localId) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT media_key, media_file_name, blob_size, blob_sha256, "
            + "blob_file FROM messages WHERE local_id = ?")) {
            ps.setLong(1, localId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || rs.getBytes(1) == null) {
                    return null;
                }
                String blob = rs.getString(5);
                return new MediaSecret(rs.getBytes(1), rs.getString(2), rs.getLong(3), rs.getBytes(4),
                    blob == null ? null : Path.of(blob));
            }
        }
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
            rs.getString(14), rs.getString(15), media(rs), Encryption.values()[rs.getInt(21)],
            reason(rs.getString(22)));
    }

    private static Reason reason(String name) {
        if (name == null) {
            return null;
        }
        try {
            return Reason.valueOf(name);
        } catch (IllegalArgumentException e) {
            return Reason.MALFORMED; // a reason of a newer client; the message stays undecryptable
        }
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
