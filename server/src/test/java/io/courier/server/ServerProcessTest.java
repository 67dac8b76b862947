package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.transport.TransportClient;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportSettings;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The executable as a separate process: it starts on its defaults, serves, and stops on SIGTERM. */
class ServerProcessTest {

    @TempDir
    Path dir;

    @Test
    void shouldServeAndStopGracefullyOnSigterm() throws Exception {
        int tcpPort = freePort();
        int adminPort = freePort();
        Path log = dir.resolve("server.log");
        List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
            "-cp", System.getProperty("java.class.path"),
            Main.class.getName(),
            "--set", "data-dir=" + dir.resolve("data"),
            "--set", "transports.tcp.port=" + tcpPort,
            "--set", "admin.port=" + adminPort));
        Process server = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            await().atMost(60, SECONDS).until(() -> Files.readString(log).contains("Metrics at"));
            ServerConfig config = ConfigLoader.load(null, List.of("data-dir=" + dir.resolve("data")));
            try (TransportClient client = TransportProviders.find("tcp").createClient(TransportSettings.of(0))) {
                URI address = URI.create("tcp://127.0.0.1:" + tcpPort);
                TestClient alice = new TestClient(client, address, "alice", "1", Main.mint(config, "alice",
                    java.time.Duration.ofMinutes(5))).connect();
                alice.send("bob", "m-1", "hello");
                await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.serverIdOf("m-1") > 0);

                server.destroy(); // SIGTERM
                assertThat(server.waitFor(60, SECONDS)).as("exited after SIGTERM").isTrue();
                alice.closedFuture().get(TestClient.TIMEOUT_SECONDS, SECONDS);
            }
            assertThat(Files.readString(log)).contains("Courier stopped");
        } finally {
            server.destroyForcibly();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
