package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.transport.proto.Deliver;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acceptance: 10,000 messages while the recipient's connection is cut and re-made three times
 * mid-stream arrive complete, in order, once after de-duplication by server id; every send has
 * exactly one server id and a re-sent client id gets the same one back.
 */
class ReconnectOrderingTest {

    private static final int MESSAGES = 10_000;

    @TempDir
    Path dataDir;

    @Test
    void shouldDeliverTenThousandInOrderAcrossThreeReconnects() throws Exception {
        // The sender puts all ten thousand on the wire at once, and this test is about order, not
        // about how much one connection may ask at once: its rate limits and writer share are lifted.
        try (ServerFixture fixture = new ServerFixture(dataDir, "router.frames-per-second=1000000",
            "router.frame-burst=1000000", "router.writer-share=65536")) {
            TestClient alice = fixture.user("alice").connect();
            TestClient bob = fixture.user("bob").connect();
            List<String> ids = IntStream.range(0, MESSAGES).mapToObj(i -> "a-" + i).toList();

            ExecutorService sender = Executors.newSingleThreadExecutor();
            CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> ids.forEach(id -> alice.send("bob", id, id)),
                sender);
            long started = System.nanoTime();
            // Cut bob at three points of the stream, each time once he has received a bit more.
            for (int cut = 1; cut <= 3; cut++) {
                int threshold = cut * MESSAGES / 4;
                await().atMost(60, SECONDS).until(() -> bob.deliveredCount() >= threshold);
                bob.disconnect();
                bob.connect();
            }
            sent.get(60, SECONDS);
            sender.shutdown();
            await().atMost(120, SECONDS).until(() -> bob.deliveredCount() == MESSAGES);
            await().atMost(60, SECONDS).until(() -> alice.accepted.size() == MESSAGES);

            // Exactly one server id per send, increasing in send order.
            Map<String, Long> serverIds = alice.acceptedFirstIds();
            ids.forEach(id -> assertThat(alice.accepted.get(id)).as(id).hasSize(1));
            List<Long> inSendOrder = ids.stream().map(serverIds::get).toList();
            assertThat(inSendOrder).isSorted().doesNotHaveDuplicates();

            // Bob's sequence equals alice's: no gap, no duplicate (after de-duplication by server id).
            List<Deliver> received = bob.deliveredSnapshot();
            assertThat(received).extracting(Deliver::getClientMessageId).containsExactlyElementsOf(ids);
            assertThat(received).extracting(Deliver::getServerMessageId).containsExactlyElementsOf(inSendOrder);

            // A re-sent client id gets the same server id back and is not delivered again.
            alice.send("bob", "a-42", "again");
            alice.send("bob", "a-9999", "again");
            await().atMost(30, SECONDS).until(() -> alice.accepted.get("a-42").size() == 2
                && alice.accepted.get("a-9999").size() == 2);
            assertThat(alice.accepted.get("a-42")).containsOnly(serverIds.get("a-42"));
            assertThat(alice.accepted.get("a-9999")).containsOnly(serverIds.get("a-9999"));
            alice.send("bob", "marker", "end");
            await().atMost(30, SECONDS).until(() -> bob.deliveredCount() == MESSAGES + 1);
            assertThat(bob.deliveredSnapshot().get(MESSAGES).getClientMessageId()).isEqualTo("marker");
            System.out.printf("10,000 messages across 3 reconnects delivered in %d ms%n",
                (System.nanoTime() - started) / 1_000_000);
        }
    }
}
