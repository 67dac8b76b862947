package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

class ChaosExchangeTest {

    static final int COUNT = 1000;
    static final int MIN_CUTS = 20;

    @TempDir
    Path dir;

    /** Cuts the proxy's connections at random moments, 10 to 120 ms apart, until stopped. */
    private static void cutAtRandom(ScheduledExecutorService chaos, ChaosProxy proxy) {
        chaos.schedule(() -> {
            proxy.cut();
            cutAtRandom(chaos, proxy);
        }, ThreadLocalRandom.current().nextLong(10, 120), TimeUnit.MILLISECONDS);
    }

    private static boolean allIn(CourierClient client, String peer, MessageState state) {
        List<Message> mine = client.history(peer).stream().filter(m -> m.direction() == Direction.OUTGOING).toList();
        return mine.size() == COUNT && mine.stream().allMatch(m -> m.state() == state);
    }

    /** What both sides show, for a failure message. */
    private static String picture(CourierClient alice, CourierClient bob, ChaosProxy a, ChaosProxy b) {
        return "alice " + alice.status() + " received " + received(alice, "bob").size() + ", cuts " + a.cuts()
            + ", connections " + a.connections() + "; bob " + bob.status() + " received " + received(bob, "alice").size()
            + ", cuts " + b.cuts() + ", connections " + b.connections();
    }

    private static List<String> received(CourierClient client, String peer) {
        return Clients.texts(client.history(peer).stream().filter(m -> m.direction() == Direction.INCOMING).toList());
    }

    @ParameterizedTest
    @EnumSource(value = Encryption.class, names = {"NONE", "SIGNAL"})
    void shouldExchangeEveryMessageInOrderThroughCutsAndAServerRestart(Encryption mode) throws Exception {
        List<String> aliceSends = IntStream.range(0, COUNT).mapToObj(i -> "a" + i).toList();
        List<String> bobSends = IntStream.range(0, COUNT).mapToObj(i -> "b" + i).toList();
        ScheduledExecutorService chaos = Executors.newScheduledThreadPool(1);
        try (TestServer server = new TestServer(dir).start();
             ChaosProxy aliceProxy = new ChaosProxy(server.tcpPort);
             ChaosProxy bobProxy = new ChaosProxy(server.tcpPort);
             CourierClient alice = Clients.builder(aliceProxy.address(), "alice", server.tokens("alice"),
                 dir.resolve("alice.db"), new Recorder()).encryption(mode).build();
             CourierClient bob = Clients.builder(bobProxy.address(), "bob", server.tokens("bob"),
                 dir.resolve("bob.db"), new Recorder()).encryption(mode).build()) {
            if (mode == Encryption.SIGNAL) {
                // Each encrypts to the other's published keys (resends reuse the stored ciphertexts).
                alice.keysPublished().get(60, SECONDS);
                bob.keysPublished().get(60, SECONDS);
            }
            cutAtRandom(chaos, aliceProxy);
            cutAtRandom(chaos, bobProxy);
            Thread aliceTyping = new Thread(() -> aliceSends.forEach(t -> alice.sendText("bob", t)));
            Thread bobTyping = new Thread(() -> bobSends.forEach(t -> bob.sendText("alice", t)));
            aliceTyping.start();
            bobTyping.start();

            await().atMost(60, SECONDS).alias("half the messages through")
                .conditionEvaluationListener(c -> {
                    if (c.getRemainingTimeInMS() <= c.getPollInterval().toMillis()) {
                        System.out.println("Before the restart: " + picture(alice, bob, aliceProxy, bobProxy));
                    }
                }).until(() -> received(bob, "alice").size() + received(alice, "bob").size() >= COUNT);
            server.stop();
            server.start();

            await().atMost(120, SECONDS).conditionEvaluationListener(c -> {
                if (c.getRemainingTimeInMS() <= c.getPollInterval().toMillis()) {
                    System.out.println("After the restart: " + picture(alice, bob, aliceProxy, bobProxy));
                }
            }).until(() -> received(bob, "alice").size() == COUNT
                && received(alice, "bob").size() == COUNT
                && aliceProxy.cuts() >= MIN_CUTS && bobProxy.cuts() >= MIN_CUTS);
            aliceTyping.join(SECONDS.toMillis(30));
            bobTyping.join(SECONDS.toMillis(30));
            assertThat(received(bob, "alice")).isEqualTo(aliceSends);
            assertThat(received(alice, "bob")).isEqualTo(bobSends);
            assertThat(bob.history("alice")).noneMatch(Message::isUndecryptable)
                .allMatch(m -> m.encryption() == mode);
            assertThat(alice.history("bob")).noneMatch(Message::isUndecryptable)
                .allMatch(m -> m.encryption() == mode);

            alice.markRead("bob");
            bob.markRead("alice");
            await().atMost(120, SECONDS).until(() -> allIn(alice, "bob", MessageState.READ)
                && allIn(bob, "alice", MessageState.READ));
            chaos.shutdownNow();
            assertThat(aliceProxy.cuts()).isGreaterThanOrEqualTo(MIN_CUTS);
            assertThat(bobProxy.cuts()).isGreaterThanOrEqualTo(MIN_CUTS);
            assertThat(alice.unreadCount("bob")).isZero();
            assertThat(bob.unreadCount("alice")).isZero();
        } finally {
            chaos.shutdownNow();
        }
    }
}
