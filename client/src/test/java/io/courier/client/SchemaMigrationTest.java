package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A database written by the client before end-to-end encryption (schema 2) opens in this one: its
 * outbox and history are kept, messages of before read as not encrypted, and it encrypts from then on.
 */
class SchemaMigrationTest {

    @TempDir
    Path dir;

    @Test
    void shouldMigrateASchemaTwoDatabaseKeepingItsOutboxAndHistory() throws Exception {
        Path db = dir.resolve("alice.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
            // Schema 2 as the client of before wrote it.
            s.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)");
            s.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
            s.execute("CREATE TABLE messages (local_id INTEGER PRIMARY KEY AUTOINCREMENT, conversation TEXT NOT NULL, "
                + "client_id TEXT NOT NULL, server_id INTEGER, direction INTEGER NOT NULL, sender TEXT NOT NULL, "
                + "sender_device TEXT NOT NULL, recipient TEXT NOT NULL, content_type TEXT NOT NULL, payload BLOB NOT NULL, "
                + "state INTEGER NOT NULL, created_ms INTEGER NOT NULL, accepted_ms INTEGER, failure_code TEXT, "
                + "failure_text TEXT, media_url TEXT, media_type TEXT, media_size INTEGER, media_sha256 BLOB, "
                + "media_file TEXT, upload_state INTEGER)");
            s.execute("CREATE UNIQUE INDEX messages_by_server_id ON messages (server_id)");
            s.execute("CREATE TABLE receipts (server_id INTEGER PRIMARY KEY, message_server_id INTEGER NOT NULL, "
                + "message_client_id TEXT NOT NULL, status INTEGER NOT NULL, by_user TEXT NOT NULL, "
                + "by_device TEXT NOT NULL, at_ms INTEGER NOT NULL)");
            s.execute("CREATE TABLE unconfirmed (kind INTEGER NOT NULL, server_id INTEGER NOT NULL, "
                + "attempts INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (kind, server_id)) WITHOUT ROWID");
            s.execute("INSERT INTO schema_version VALUES (1), (2)");
            s.execute("INSERT INTO messages (conversation, client_id, direction, sender, sender_device, recipient, "
                + "content_type, payload, state, created_ms) VALUES ('bob', 'c-1', 0, 'alice', '1', 'bob', "
                + "'text/plain', X'717565756564206265666f7265', 0, 1)");
        }
        try (TestServer server = new TestServer(dir).start()) {
            Recorder bobSaw = new Recorder();
            try (CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), bobSaw);
                 CourierClient alice = Clients.open(server, "alice", db, new Recorder())) {
                await().atMost(30, SECONDS).until(() -> bobSaw.arrived.size() == 1);
                assertThat(bobSaw.arrived.get(0).text()).isEqualTo("queued before");
                assertThat(bobSaw.arrived.get(0).encryption()).isEqualTo(Encryption.NONE);
                assertThat(alice.history("bob")).singleElement().satisfies(m -> {
                    assertThat(m.encryption()).isEqualTo(Encryption.NONE);
                    assertThat(m.isUndecryptable()).isFalse();
                });
            }
        }
        assertThat(SignalExchangeTest.count(db, "SELECT MAX(version) FROM schema_version")).isEqualTo(3);
    }
}
