package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.transport.proto.Frame;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResumeTest {

    @TempDir
    Path dir;

    private static List<Long> deliveredIds(ChaosProxy proxy) {
        return proxy.fromServer.stream().filter(Frame::hasDeliver).map(f -> f.getDeliver().getServerMessageId()).toList();
    }

    @Test
    void shouldBeSentNothingItStoredAlreadyAfterAReconnectOrARestart() throws Exception {
        try (TestServer server = new TestServer(dir).start();
             ChaosProxy proxy = new ChaosProxy(server.tcpPort);
             CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), new Recorder())) {
            for (int i = 0; i < 50; i++) {
                alice.sendText("bob", "first " + i);
            }
            Path bobDb = dir.resolve("bob.db");
            Recorder bobSaw = new Recorder();
            CourierClient bob = Clients.builder(proxy.address(), "bob", server.tokens("bob"), bobDb, bobSaw).build();
            try {
                await().atMost(30, SECONDS).until(() -> bob.history("alice").size() == 50);
                proxy.cut();
                await().atMost(30, SECONDS).until(() -> bobSaw.connectedCount() >= 2);
                for (int i = 0; i < 10; i++) {
                    alice.sendText("bob", "second " + i);
                }
                await().atMost(30, SECONDS).until(() -> bob.history("alice").size() == 60);
            } finally {
                bob.close();
            }
            try (CourierClient again = Clients.builder(proxy.address(), "bob", server.tokens("bob"), bobDb, bobSaw).build()) {
                alice.sendText("bob", "third");
                await().atMost(30, SECONDS).until(() -> again.history("alice").size() == 61);
            }

            List<Long> ids = deliveredIds(proxy);
            assertThat(ids).as("deliveries the server wrote to bob, over three connections").hasSize(61)
                .doesNotHaveDuplicates().isSorted();
            List<Long> resumePoints = proxy.fromClient.stream().filter(Frame::hasHello)
                .map(f -> f.getHello().getResumeAfterServerId()).toList();
            assertThat(resumePoints).hasSize(3);
            assertThat(resumePoints.get(0)).isZero();
            assertThat(resumePoints.get(1)).isEqualTo(ids.get(49));
            assertThat(resumePoints.get(2)).isEqualTo(ids.get(59));
        }
    }
}
