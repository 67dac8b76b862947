package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.transport.proto.Receipt.Status;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acceptance: 1,000 concurrent connections exchanging 100 messages each, all delivered with all
 * receipts. Prints how long it took; speed itself is the benchmark's business.
 */
class ConcurrentConnectionsTest {

    private static final int USERS = 1_000;
    private static final int MESSAGES_EACH = 100;

    @TempDir
    Path dataDir;

    @Test
    void shouldDeliverEveryMessageWithEveryReceiptAcrossAThousandConnections() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir)) {
            List<TestClient> users = new ArrayList<>();
            for (int i = 0; i < USERS; i++) {
                users.add(fixture.user("u" + i).connect());
            }
            long started = System.nanoTime();
            // Each user sends 100 messages to its partner: u0 <-> u1, u2 <-> u3, ...
            for (int m = 0; m < MESSAGES_EACH; m++) {
                for (int i = 0; i < USERS; i++) {
                    users.get(i).send(partner(i), "m" + m, "hi " + m);
                }
            }
            await().atMost(180, SECONDS).until(() -> users.stream().allMatch(u -> u.deliveredCount() == MESSAGES_EACH));
            long delivered = System.nanoTime();
            for (TestClient user : users) {
                user.markRead(user.deliveredSnapshot().stream().mapToLong(d -> d.getServerMessageId()).toArray());
            }
            await().atMost(180, SECONDS).until(() -> users.stream().allMatch(ConcurrentConnectionsTest::allTicksIn));
            long done = System.nanoTime();

            for (int i = 0; i < USERS; i++) {
                TestClient user = users.get(i);
                String partner = partner(i);
                assertThat(user.accepted).hasSize(MESSAGES_EACH);
                assertThat(user.deliveredSnapshot()).allSatisfy(d -> assertThat(d.getSender()).isEqualTo(partner));
                assertThat(user.errors).isEmpty();
            }
            System.out.printf("%d connections x %d messages: all delivered in %d ms, all receipts in %d ms%n",
                USERS, MESSAGES_EACH, (delivered - started) / 1_000_000, (done - started) / 1_000_000);
        }
    }

    private static boolean allTicksIn(TestClient user) {
        if (user.accepted.size() != MESSAGES_EACH) {
            return false;
        }
        for (List<Long> ids : user.accepted.values()) {
            List<Status> receipts = user.receiptsFor(ids.get(0));
            if (!receipts.equals(List.of(Status.DELIVERED, Status.READ))) {
                return false;
            }
        }
        return true;
    }

    private static String partner(int i) {
        return "u" + (i ^ 1);
    }
}
