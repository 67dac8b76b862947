package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FailedSendTest {

    @TempDir
    Path dir;

    @Test
    void shouldFailARefusedSendWithTheServersCodeAndStillSendTheOnesAfterIt() throws Exception {
        try (TestServer server = new TestServer(dir, "router.max-payload-bytes=1024").start()) {
            Recorder aliceSaw = new Recorder();
            try (CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), new Recorder());
                 CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), aliceSaw)) {
                String before = alice.sendText("bob", "before");
                String tooLarge = alice.send("bob", "application/octet-stream", new byte[2000]);
                String after = alice.sendText("bob", "after");

                await().atMost(30, SECONDS).until(() -> alice.message(tooLarge).orElseThrow().state() == MessageState.FAILED);
                Message failed = alice.message(tooLarge).orElseThrow();
                assertThat(failed.failureCode()).isEqualTo("PAYLOAD_TOO_LARGE");
                assertThat(failed.failureText()).contains("router.max-payload-bytes");
                assertThat(failed.serverId()).isZero();

                await().atMost(30, SECONDS).until(() -> alice.message(after).orElseThrow().state() == MessageState.DELIVERED
                    && alice.message(before).orElseThrow().state() == MessageState.DELIVERED);
                assertThat(Clients.texts(bob.history("alice"))).containsExactly("before", "after");
                assertThat(aliceSaw.states.get(tooLarge)).containsExactly(MessageState.FAILED);
                assertThat(alice.status().queued()).isZero();
            }
        }
    }
}
