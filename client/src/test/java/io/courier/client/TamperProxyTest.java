package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tampering proxy the end-to-end tests rely on changes exactly what it says: one bit of one
 * Deliver's payload, on its way to the client, and nothing else (shown on a plain message, where
 * the change is readable).
 */
class TamperProxyTest {

    @TempDir
    Path dir;

    @Test
    void shouldFlipExactlyOneBitOfTheChosenDeliverOnly() throws Exception {
        // Bit 7 is the lowest bit of the first byte: "hello" becomes "iello".
        Tamper flip = new Tamper(d -> d.getPayload().toStringUtf8().equals("hello"), 7);
        try (TestServer server = new TestServer(dir).start();
             ChaosProxy bobWire = new ChaosProxy(server.tcpPort)) {
            bobWire.rewriteFromServer(flip);
            Recorder bobSaw = new Recorder();
            try (CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), new Recorder());
                 CourierClient bob = Clients.builder(bobWire.address(), "bob", server.tokens("bob"),
                     dir.resolve("bob.db"), bobSaw).build()) {
                alice.sendText("bob", "hello");
                alice.sendText("bob", "world");
                await().atMost(30, SECONDS).until(() -> bobSaw.arrived.size() == 2);
                assertThat(Clients.texts(bob.history("alice"))).containsExactly("iello", "world");
                assertThat(flip.flipped).hasSize(1);
                assertThat(flip.flipped.get(0).original().getPayload().toStringUtf8()).isEqualTo("hello");
                assertThat(flip.flipped.get(0).tampered().getPayload().toStringUtf8()).isEqualTo("iello");
                assertThat(flip.flipped.get(0).tampered().getServerMessageId())
                    .isEqualTo(flip.flipped.get(0).original().getServerMessageId());
            }
        }
    }
}
