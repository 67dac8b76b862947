package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two clients exchange {@link #COUNT} messages each way, encrypted in Signal mode (X3DH, then the
 * Double Ratchet), while {@link FrameChaos} drops single Send
 * frames, holds others back so later ones overtake them, and cuts connections, and one client is
 * closed and opened again on the same database half-way through: every message arrives on the
 * other side exactly once (counted by client id) and decrypts, though many arrive out of the order
 * they were encrypted in, so the ratchet must use skipped message keys (counted, and required:
 * otherwise the test would not show what it claims). The sessions outlive the restart.
 */
class ReorderedExchangeTest {

    /** Messages each way. */
    static final int COUNT = 1000;

    /**
     * The chaos layer's seed; the test prints it. Replay a failure's with -Dcourier.chaos.seed=N.
     * Alice's proxy uses it, Bob's the next number.
     */
    static final long SEED = Long.getLong("courier.chaos.seed", 1313L);

    /**
     * At most 40 drops, 80 held-back frames and 10 random cuts per direction (plus one cut after
     * each drop, which makes the SDK send it again); about 2% of Sends dropped and 5% held back
     * while the budget lasts; a held frame is overtaken by 1-8 later ones or goes on after 200 ms;
     * a drop's cut comes after 1-8 more Sends or 150 ms. Bounded, so the test always finishes.
     */
    static final FrameChaos.Limits LIMITS = new FrameChaos.Limits(40, 80, 10, 0.02, 0.05, 0.003, 8, 200, 150);

    /** Alice's messages Bob must have before he is closed and opened again. */
    static final int RESTART_AFTER = COUNT / 3;

    @TempDir
    Path dir;

    @Test
    void shouldDeliverEveryMessageOnceBothWaysThroughDropsReorderingCutsAndAClientRestart() throws Exception {
        System.out.println("ReorderedExchangeTest: chaos seed " + SEED + " (alice's proxy), " + (SEED + 1) + " (bob's)");
        List<String> aliceSends = IntStream.range(0, COUNT).mapToObj(i -> "a" + i).toList();
        List<String> bobSends = IntStream.range(0, COUNT).mapToObj(i -> "b" + i).toList();
        try (TestServer server = new TestServer(dir).start();
             FrameChaos aliceChaos = new FrameChaos(SEED, LIMITS);
             FrameChaos bobChaos = new FrameChaos(SEED + 1, LIMITS);
             ChaosProxy aliceProxy = new ChaosProxy(server.tcpPort);
             ChaosProxy bobProxy = new ChaosProxy(server.tcpPort)) {
            aliceProxy.chaosFromClient(aliceChaos);
            bobProxy.chaosFromClient(bobChaos);
            CourierClient alice = Clients.builder(aliceProxy.address(), "alice", server.tokens("alice"),
                dir.resolve("alice.db"), new Recorder()).encryption(Encryption.SIGNAL).build();
            CourierClient bob = Clients.builder(bobProxy.address(), "bob", server.tokens("bob"),
                dir.resolve("bob.db"), new Recorder()).encryption(Encryption.SIGNAL).build();
            try {
                alice.keysPublished().get(60, SECONDS);
                bob.keysPublished().get(60, SECONDS);
                Thread aliceTyping = new Thread(() -> aliceSends.forEach(t -> alice.sendText("bob", t)));
                aliceTyping.start();
                CourierClient bobBefore = bob;
                bobSends.subList(0, COUNT / 2).forEach(t -> bobBefore.sendText("alice", t));
                await().atMost(120, SECONDS).alias("bob has a third of alice's messages")
                    .until(() -> incoming(bobBefore, "alice").size() >= RESTART_AFTER);
                bob.close();
                bob = Clients.builder(bobProxy.address(), "bob", server.tokens("bob"), dir.resolve("bob.db"),
                    new Recorder()).encryption(Encryption.SIGNAL).build();
                CourierClient bobAfter = bob;
                bobSends.subList(COUNT / 2, COUNT).forEach(t -> bobAfter.sendText("alice", t));

                await().atMost(240, SECONDS).alias("every message through").conditionEvaluationListener(c -> {
                    if (c.getRemainingTimeInMS() <= c.getPollInterval().toMillis()) {
                        System.out.println("Timing out: alice has " + incoming(alice, "bob").size() + ", bob has "
                            + incoming(bobAfter, "alice").size() + "; alice's chaos: " + aliceChaos.summary()
                            + "; bob's: " + bobChaos.summary());
                    }
                }).until(() -> incoming(bobAfter, "alice").size() >= COUNT && incoming(alice, "bob").size() >= COUNT);
                aliceTyping.join(SECONDS.toMillis(30));
                System.out.println("ReorderedExchangeTest, alice -> bob: " + aliceChaos.summary() + "; bob saw "
                    + outOfOrder(incoming(bob, "alice")) + " messages after a later one");
                System.out.println("ReorderedExchangeTest, bob -> alice: " + bobChaos.summary() + "; alice saw "
                    + outOfOrder(incoming(alice, "bob")) + " messages after a later one");

                assertOnceEach(incoming(bob, "alice"), aliceSends);
                assertOnceEach(incoming(alice, "bob"), bobSends);
                assertThat(aliceChaos.drops.get()).isPositive();
                assertThat(bobChaos.drops.get()).isPositive();
                assertThat(outOfOrder(incoming(bob, "alice"))).isPositive();
                assertThat(outOfOrder(incoming(alice, "bob"))).isPositive();
            } finally {
                alice.close();
                bob.close();
            }
        }
    }

    private static List<Message> incoming(CourierClient client, String peer) {
        return client.history(peer).stream().filter(m -> m.direction() == Direction.INCOMING).toList();
    }

    /** Each message once by client id, decrypted, and together exactly the texts that were sent. */
    private static void assertOnceEach(List<Message> got, List<String> sent) {
        assertThat(got).allSatisfy(m -> {
            assertThat(m.isUndecryptable()).as(m.toString()).isFalse();
            assertThat(m.encryption()).isEqualTo(Encryption.SIGNAL);
        });
        Map<String, Long> perClientId = got.stream().collect(Collectors.groupingBy(Message::clientId, Collectors.counting()));
        assertThat(perClientId.values()).as("copies per client message id").containsOnly(1L);
        assertThat(got).hasSize(sent.size());
        assertThat(got.stream().map(Message::text).toList()).containsExactlyInAnyOrderElementsOf(sent);
    }

    /** How many messages arrived (in server order) after one that was sent later. */
    static long outOfOrder(List<Message> got) {
        Function<Message, Integer> index = m -> Integer.parseInt(m.text().substring(1));
        int highest = -1;
        long late = 0;
        for (Message m : got.stream().sorted(Comparator.comparingLong(Message::serverId)).toList()) {
            int i = index.apply(m);
            if (i < highest) {
                late++;
            }
            highest = Math.max(highest, i);
        }
        return late;
    }
}
