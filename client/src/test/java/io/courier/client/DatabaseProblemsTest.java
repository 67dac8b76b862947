package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatabaseProblemsTest {

    @TempDir
    Path dir;

    /** Queues three messages with no server to take them, and closes the client. */
    private List<String> queueOffline(TestServer server, Path db) {
        List<String> ids = new ArrayList<>();
        try (CourierClient alice = Clients.open(server, "alice", db, new Recorder())) {
            for (int i = 0; i < 3; i++) {
                ids.add(alice.sendText("bob", "queued " + i));
            }
        }
        return ids;
    }

    private static void assertAllGoOut(TestServer server, Path db, List<String> ids) {
        try (CourierClient alice = Clients.open(server, "alice", db, new Recorder())) {
            await().atMost(30, SECONDS).until(() -> ids.stream()
                .allMatch(id -> alice.message(id).orElseThrow().state() == MessageState.SENT));
            assertThat(Clients.texts(alice.history("bob"))).containsExactly("queued 0", "queued 1", "queued 2");
        }
    }

    @Test
    void shouldNameACorruptedFileAndLeaveItAsItWas() throws Exception {
        try (TestServer server = new TestServer(dir)) {
            Path db = dir.resolve("alice.db");
            List<String> ids = queueOffline(server, db);
            byte[] good = Files.readAllBytes(db);
            byte[] corrupted = good.clone();
            byte[] garbage = "this is not what SQLite wrote".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            System.arraycopy(garbage, 0, corrupted, 0, garbage.length);
            Files.write(db, corrupted);

            assertThatThrownBy(() -> Clients.open(server, "alice", db, new Recorder()))
                .isInstanceOf(CourierStoreException.class)
                .hasMessageContaining(db.toAbsolutePath().toString())
                .hasMessageContaining("corrupted")
                .satisfies(e -> assertThat(((CourierStoreException) e).file()).isEqualTo(db.toAbsolutePath()));
            assertThat(Files.readAllBytes(db)).as("the failed open changed nothing").isEqualTo(corrupted);

            Files.write(db, good); // what restoring it from a backup would do
            server.start();
            assertAllGoOut(server, db, ids);
        }
    }

    @Test
    void shouldNameAFileAnotherClientHoldsAndOpenItOnceReleased() throws Exception {
        try (TestServer server = new TestServer(dir)) {
            Path db = dir.resolve("alice.db");
            List<String> ids = queueOffline(server, db);
            try (CourierClient first = Clients.open(server, "alice", db, new Recorder())) {
                assertThat(first.status().queued()).isEqualTo(3);
                assertThatThrownBy(() -> Clients.open(server, "alice", db, new Recorder()))
                    .isInstanceOf(CourierStoreException.class)
                    .hasMessageContaining(db.toAbsolutePath().toString())
                    .hasMessageContaining("locked");
            }
            server.start();
            assertAllGoOut(server, db, ids);
        }
    }

    @Test
    void shouldNameAReadOnlyFileAndOpenItOnceWritable() throws Exception {
        try (TestServer server = new TestServer(dir)) {
            Path db = dir.resolve("alice.db");
            List<String> ids = queueOffline(server, db);
            Files.setPosixFilePermissions(db, PosixFilePermissions.fromString("r--r--r--"));
            assertThatThrownBy(() -> Clients.open(server, "alice", db, new Recorder()))
                .isInstanceOf(CourierStoreException.class)
                .hasMessageContaining(db.toAbsolutePath().toString())
                .hasMessageContaining("read-only");
            Files.setPosixFilePermissions(db, PosixFilePermissions.fromString("rw-r--r--"));
            server.start();
            assertAllGoOut(server, db, ids);
        }
    }

    @Test
    void shouldRefuseAnAddressNoTransportServesNamingIt() {
        assertThatThrownBy(() -> CourierClient.builder().server(URI.create("smtp://127.0.0.1:25")).user("alice")
            .token(() -> "t").database(dir.resolve("a.db")).build())
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("smtp://127.0.0.1:25");
        assertThat(dir.resolve("a.db")).doesNotExist();
    }
}
