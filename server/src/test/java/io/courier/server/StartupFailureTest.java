package io.courier.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.Closeable;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The executable, run as a person runs it, meets an ordinary mistake: it prints one line saying
 * what is wrong and what to change, never a stack trace, and exits with a non-zero status.
 */
class StartupFailureTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"tcp", "ws", "longpoll", "udp"})
    void shouldNameTheTransportTheAddressAndTheKeyWhenAPortIsInUse(String transport) throws Exception {
        try (Taken taken = occupy(transport.equals("udp"))) {
            int port = taken.port();
            ServerProcess.Result result = server("transports." + transport + ".port=" + port);

            assertThat(result.exitStatus()).isEqualTo(2);
            assertThat(result.errorLines()).containsExactly("courier: transport '" + transport + "' cannot listen on "
                + "127.0.0.1:" + port + ": address already in use; change transports." + transport + ".port, "
                + "or stop what listens there");
            assertNoStackTraceAndNeverStopped(result);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"rocksdb", "memory"})
    void shouldRefuseToRunAsAClusterNodeOnAStoreThatBelongsToOneProcess(String backend) throws Exception {
        ServerProcess.Result result = server("storage.backend=" + backend, "cluster.enabled=true");

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.errorLines()).containsExactly("courier: cluster.enabled needs a storage backend that several"
            + " servers can share (postgres); storage.backend '" + backend + "' belongs to this one process (its data"
            + " is in this process's memory or data directory), so other nodes could neither read nor number what it"
            + " holds");
        assertNoStackTraceAndNeverStopped(result);
    }

    @Test
    void shouldNameTheClusterRedisWhenNothingAnswersThere() throws Exception {
        int port = freePort();
        List<String> overrides = new ArrayList<>(PostgresForTests.overrides("startup_cluster"));
        overrides.addAll(List.of("storage.backend=postgres", "cluster.enabled=true",
            "cluster.redis=redis://127.0.0.1:" + port));
        ServerProcess.Result result = server(overrides.toArray(String[]::new));

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.errorLines()).singleElement().asString()
            .startsWith("courier: Cannot reach the cluster's Redis at redis://127.0.0.1:" + port + " (cluster.redis): ");
        assertNoStackTraceAndNeverStopped(result);
    }

    @Test
    void shouldNameTheAdminPortWhenItIsInUse() throws Exception {
        try (Taken taken = occupy(false)) {
            int port = taken.port();
            ServerProcess.Result result = server("admin.port=" + port);

            assertThat(result.exitStatus()).isEqualTo(2);
            assertThat(result.errorLines()).containsExactly("courier: the admin endpoint cannot listen on 127.0.0.1:"
                + port + ": address already in use; change admin.port, or stop what listens there");
            assertNoStackTraceAndNeverStopped(result);
        }
    }

    @Test
    void shouldNameADataDirectoryUnderARegularFile() throws Exception {
        Path file = Files.writeString(dir.resolve("not-a-directory"), "x");
        ServerProcess.Result result = server("data-dir=" + file.resolve("data"));

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.errorLines()).containsExactly("courier: data-dir " + file.resolve("data") + " cannot be used: "
            + file + " is a file, so no directory can be made in it; change data-dir");
        assertNoStackTraceAndNeverStopped(result);
    }

    @Test
    void shouldNameADataDirectoryThatCannotBeCreated() throws Exception {
        // Tests run as root, whom permissions do not stop: /proc refuses new entries to anyone.
        ServerProcess.Result result = server("data-dir=/proc/courier-data");

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.errorLines()).singleElement().asString()
            .startsWith("courier: data-dir /proc/courier-data cannot be created: ").endsWith("; change data-dir");
        assertNoStackTraceAndNeverStopped(result);
    }

    @Test
    void shouldNameADataDirectoryThatCannotBeWritten() throws Exception {
        ServerProcess.Result result = server("data-dir=/proc/self");

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.errorLines()).singleElement().asString()
            .startsWith("courier: data-dir /proc/self is not writable: ");
        assertNoStackTraceAndNeverStopped(result);
    }

    @Test
    void shouldNameTheDirectoryWhenAnotherServerHoldsIt() throws Exception {
        try (ServerProcess running = new ServerProcess(dir).start()) {
            ServerProcess.Result result = server("data-dir=" + running.dataDir);

            assertThat(result.exitStatus()).isEqualTo(2);
            assertThat(result.errorLines()).singleElement().asString()
                .startsWith("courier: Cannot open RocksDB at " + running.dataDir.resolve("rocksdb"))
                .endsWith("(is another Courier server using this data directory?)");
            assertNoStackTraceAndNeverStopped(result);
        }
    }

    @Test
    void shouldNameTheAddressOfADatabaseThatIsNotThere() throws Exception {
        ServerProcess.Result result = server("storage.backend=postgres",
            "storage.options.url=jdbc:postgresql://127.0.0.1:" + freePort() + "/courier",
            "storage.options.connect-timeout-ms=1000");

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.errorLines()).singleElement().asString()
            .startsWith("courier: Cannot connect to PostgreSQL at jdbc:postgresql://127.0.0.1:");
        assertNoStackTraceAndNeverStopped(result);
    }

    @Test
    void shouldSayWhereTheKeysWereLookedForWhenTokenRunsBeforeAnyServer() throws Exception {
        ServerProcess.Result result = ServerProcess.run(dir, "token", "alice");

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.stdout()).isEmpty();
        assertThat(result.errorLines()).singleElement().asString()
            .startsWith("courier: no HMAC key in " + dir.toRealPath().resolve("data/auth-keys") + " to sign a token with")
            .contains("start it (java -jar server/target/courier-server.jar)").contains("--config");
        assertThat(dir.resolve("data")).as("token creates no key of its own").doesNotExist();
        assertNoStackTraceAndNeverStopped(result);
    }

    @Test
    void shouldNameTheFileLineAndColumnOfMalformedYaml() throws Exception {
        Path file = Files.writeString(dir.resolve("courier.yaml"), "router:\n  max-batch: 3\n   oops: [\n");
        ServerProcess.Result result = ServerProcess.run(dir, "--config", file.toString());

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.errorLines()).containsExactly("courier: " + file + " line 3, column 8: mapping values are "
            + "not allowed here; the file is not valid YAML");
        assertNoStackTraceAndNeverStopped(result);
    }

    @Test
    void shouldNameAConfigurationFileThatIsNotThere() throws Exception {
        ServerProcess.Result result = ServerProcess.run(dir, "--config", "missing.yaml");

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.errorLines()).singleElement().asString()
            .startsWith("courier: --config " + dir.toRealPath().resolve("missing.yaml") + ": no such file");
        assertNoStackTraceAndNeverStopped(result);
    }

    @Test
    void shouldNameAnUnknownOptionItsValueAndLineAndListThePluginsOptions() throws Exception {
        Path file = Files.writeString(dir.resolve("courier.yaml"), "storage:\n  options:\n    snyc: false\n");
        ServerProcess.Result result = ServerProcess.run(dir, "--config", file.toString());

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.errorLines()).containsExactly("courier: Unknown option storage.options.snyc = 'false' ("
            + file + " line 3): storage backend 'rocksdb' has no option 'snyc'; its options: block-cache-mb, path, "
            + "sync, write-buffer-mb");
        assertNoStackTraceAndNeverStopped(result);
    }

    /** Runs the server on free ports in {@link #dir}, plus {@code overrides}. */
    private ServerProcess.Result server(String... overrides) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>();
        for (String override : List.of("data-dir=" + dir.resolve("data"), "transports.tcp.port=0",
            "transports.udp.port=0", "transports.ws.port=0", "transports.longpoll.port=0", "admin.port=0", "media.port=0")) {
            args.add("--set");
            args.add(override);
        }
        for (String override : overrides) {
            args.add("--set");
            args.add(override);
        }
        return ServerProcess.run(dir, args.toArray(String[]::new));
    }

    private static void assertNoStackTraceAndNeverStopped(ServerProcess.Result result) {
        String all = result.stdout() + result.stderr();
        assertThat(all).doesNotContain("\tat ").doesNotContain("Exception").doesNotContain("Caused by");
        assertThat(all).as("a server that never started does not say it stopped").doesNotContain("Courier stopped");
    }

    /** A loopback port something else holds. */
    private record Taken(int port, Closeable socket) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private static Taken occupy(boolean udp) throws IOException {
        InetSocketAddress any = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        if (udp) {
            DatagramSocket socket = new DatagramSocket(any);
            return new Taken(socket.getLocalPort(), socket);
        }
        ServerSocket socket = new ServerSocket();
        socket.bind(any);
        return new Taken(socket.getLocalPort(), socket);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
