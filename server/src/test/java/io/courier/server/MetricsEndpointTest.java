package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin port serves Prometheus metrics that move with traffic. */
class MetricsEndpointTest {

    @TempDir
    Path dataDir;

    @Test
    void shouldExposeConnectionsFramesTicksErrorsAndMailboxDepth() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir)) {
            TestClient alice = fixture.user("alice").connect();
            TestClient bob = fixture.user("bob").connect();
            alice.send("bob", "m", "hi");
            await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> bob.deliveredCount() == 1);
            long id = bob.deliveredSnapshot().get(0).getServerMessageId();
            bob.markRead(id);
            await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.receiptsFor(id).size() == 2);
            alice.send("", "bad", "x");
            alice.nextError();

            String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + fixture.server.adminPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics)
                .contains("courier_connections{transport=\"tcp\"} 2.0")
                .contains("courier_messages_accepted_total 1.0")
                .contains("courier_messages_delivered_total 1.0")
                .contains("courier_messages_read_total 1.0")
                .contains("courier_errors_total{code=\"INVALID_RECIPIENT\"} 1.0")
                .contains("courier_mailbox_depth")
                .contains("courier_frames_in_total")
                .contains("courier_frames_out_total")
                .contains("courier_handshakes_dropped_total{transport=\"udp\"} 0.0");
        }
    }
}
