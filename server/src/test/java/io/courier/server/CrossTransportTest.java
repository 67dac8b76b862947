package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.transport.proto.Receipt.Status;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A user on any transport messages a user on any other: every sender/receiver pair of the
 * transports the default configuration runs, with accepted, delivered and read end to end.
 */
class CrossTransportTest {

    @TempDir
    Path dataDir;

    @Test
    void shouldDeliverAndTickBetweenEveryPairOfTransports() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir)) {
            Set<String> transports = fixture.server.config().transports().keySet();
            assertThat(transports).as("the default configuration").contains("tcp", "udp", "ws", "longpoll");
            List<String> pairs = new ArrayList<>();
            for (String from : transports) {
                for (String to : transports) {
                    TestClient sender = fixture.user(from, "s-" + from + "-" + to).connect();
                    TestClient receiver = fixture.user(to, "r-" + from + "-" + to).connect();
                    sender.send(receiver.user, "m", from + " to " + to);
                    await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> receiver.deliveredCount() == 1);
                    assertThat(receiver.deliveredSnapshot().get(0).getPayload().toStringUtf8()).isEqualTo(from + " to " + to);
                    long id = sender.serverIdOf("m");
                    assertThat(id).isPositive();
                    receiver.markRead(id);
                    await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> sender.receiptsFor(id).size() == 2);
                    assertThat(sender.receiptsFor(id)).containsExactly(Status.DELIVERED, Status.READ);
                    pairs.add(from + "->" + to);
                }
            }
            assertThat(pairs).hasSize(transports.size() * transports.size());
            System.out.printf("accepted, delivered and read over %d transport pairs: %s%n", pairs.size(), pairs);
        }
    }
}
