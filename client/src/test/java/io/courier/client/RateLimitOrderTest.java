package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.transport.proto.Error;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RateLimitOrderTest {

    @TempDir
    Path dir;

    @Test
    void shouldPaceABurstBelowTheServersRateLimitsSoNoneIsRefusedOrReordered() throws Exception {
        // A server that takes a burst of 300 frames, then 100 a second, from each connection; the
        // client keeps below that pace, so no send is refused and none can overtake another.
        try (TestServer server = new TestServer(dir, "router.frame-burst=300", "router.frames-per-second=100").start();
             CourierClient alice = Clients.builder(server.tcp(), "alice", server.tokens("alice"),
                 dir.resolve("alice.db"), new Recorder()).frameRate(90, 270).build();
             CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), new Recorder())) {
            List<String> sent = IntStream.range(0, 500).mapToObj(i -> "r" + i).toList();
            sent.forEach(t -> alice.sendAsync("bob", "text/plain", t.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            await().atMost(60, SECONDS).until(() -> bob.history("alice").size() == sent.size());
            assertThat(server.server().router().errorCount(Error.Code.RATE_LIMITED)).as("refusals").isZero();
            assertThat(Clients.texts(bob.history("alice"))).isEqualTo(sent);
        }
    }
}
