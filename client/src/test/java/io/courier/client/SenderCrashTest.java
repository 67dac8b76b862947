package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SenderCrashTest {

    static final int COUNT = 1000;

    @TempDir
    Path dir;

    private Process sender(TestServer server, Path db, Path out) throws Exception {
        List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
            "-cp", System.getProperty("java.class.path"), BurstSender.class.getName(),
            server.tcp().toString(), server.token("alice"), db.toString(), String.valueOf(COUNT)));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    }

    /** Rows in the killed sender's database: outgoing messages, and how many of them were delivered. */
    private static int[] outgoingAndDelivered(Path db) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT COUNT(*), COALESCE(SUM(state = 2), 0) FROM messages WHERE direction = 0")) {
            rs.next();
            return new int[] {rs.getInt(1), rs.getInt(2)};
        }
    }

    @Test
    void shouldFinishABurstAfterTheSendingProcessIsKilledInTheMiddleOfIt() throws Exception {
        try (TestServer server = new TestServer(dir).start();
             CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), new Recorder())) {
            Path db = dir.resolve("alice.db");
            Path firstOut = dir.resolve("first.txt");
            Process first = sender(server, db, firstOut);
            try {
                await().atMost(60, SECONDS).until(() -> {
                    if (!first.isAlive()) {
                        throw new IllegalStateException("The sender exited early:\n" + Files.readString(firstOut));
                    }
                    return Files.readString(firstOut).contains("HALF");
                });
            } finally {
                first.destroyForcibly(); // SIGKILL: no shutdown hook, no close
                assertThat(first.waitFor(30, SECONDS)).isTrue();
            }
            int[] atKill = outgoingAndDelivered(db);
            assertThat(atKill[0]).as("messages queued when killed").isGreaterThan(COUNT / 2);
            assertThat(atKill[1]).as("messages delivered when killed").isLessThan(COUNT);

            Path secondOut = dir.resolve("second.txt");
            Process second = sender(server, db, secondOut);
            assertThat(second.waitFor(150, SECONDS)).as("the restarted sender finishes").isTrue();
            assertThat(Files.readString(secondOut)).contains("DONE " + COUNT);
            assertThat(second.exitValue()).isZero();

            await().atMost(30, SECONDS).until(() -> bob.history("alice").size() >= COUNT);
            assertThat(Clients.texts(bob.history("alice")))
                .isEqualTo(IntStream.range(0, COUNT).mapToObj(i -> "m" + i).toList());
            assertThat(outgoingAndDelivered(db)).containsExactly(COUNT, COUNT);
        }
    }
}
