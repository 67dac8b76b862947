package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OfflineSendTest {

    @TempDir
    Path dir;

    @Test
    void shouldDeliverAMessageSentWhileTheServerWasDownOnceItStarts() throws Exception {
        try (TestServer server = new TestServer(dir)) {
            Recorder aliceSaw = new Recorder();
            try (CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), aliceSaw)) {
                String id = alice.sendText("bob", "sent while the server was down");
                assertThat(alice.message(id)).get().extracting(Message::state).isEqualTo(MessageState.PENDING);
                assertThat(alice.status().queued()).isEqualTo(1);

                server.start();
                Recorder bobSaw = new Recorder();
                try (CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), bobSaw)) {
                    await().atMost(60, SECONDS).until(() -> alice.message(id).orElseThrow().state() == MessageState.DELIVERED);
                    assertThat(Clients.texts(bob.history("alice"))).containsExactly("sent while the server was down");
                    assertThat(aliceSaw.states.get(id)).containsExactly(MessageState.SENT, MessageState.DELIVERED);
                    assertThat(alice.status().queued()).isZero();
                    assertThat(bob.unreadCount("alice")).isEqualTo(1);
                }
            }
        }
    }
}
