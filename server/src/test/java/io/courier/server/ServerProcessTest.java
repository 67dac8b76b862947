package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.transport.TransportClient;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportSettings;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The executable as a separate process: it starts on its defaults, serves, and stops on SIGTERM. */
class ServerProcessTest {

    @TempDir
    Path dir;

    @Test
    void shouldServeAndStopGracefullyOnSigterm() throws Exception {
        try (ServerProcess server = new ServerProcess(dir).start();
             TransportClient client = TransportProviders.find("tcp").createClient(TransportSettings.of(0))) {
            TestClient alice = new TestClient(client, server.address(), "alice", "1",
                Main.mint(server.config(), "alice", "*", Duration.ofMinutes(5))).connect();
            alice.send("bob", "m-1", "hello");
            await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.serverIdOf("m-1") > 0);

            assertThat(server.terminate()).as("exited after SIGTERM").isTrue();
            alice.closedFuture().get(TestClient.TIMEOUT_SECONDS, SECONDS);
            assertThat(server.logText()).contains("Storage backend 'rocksdb' open").contains("Courier stopped");
        }
    }
}
