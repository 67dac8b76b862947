package io.courier.cluster.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.courier.router.cluster.ClusterLink;
import io.courier.storage.DeviceId;
import io.courier.storage.MessageKind;
import io.courier.storage.StoredMessage;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two links, as two nodes, on a real redis-server: the directory, the two kinds of signal, the
 * expiry of a dead node's entries, and what a Redis restart does.
 */
class RedisClusterLinkTest {

    private static final DeviceId BOB = DeviceId.primary("bob");
    private static final DeviceId CAROL = DeviceId.primary("carol");
    private static final Duration WAIT = Duration.ofSeconds(30);

    private static RedisProcess redis;

    private final Node a = new Node("node-a", 3_000);
    private final Node b = new Node("node-b", 3_000);

    @BeforeAll
    static void startRedis() throws Exception {
        redis = RedisProcess.start();
    }

    @AfterAll
    static void stopRedis() throws Exception {
        redis.close();
    }

    @AfterEach
    void close() throws Exception {
        a.link.close();
        b.link.close();
        redis.command("FLUSHALL");
    }

    /** One node's link and what its listener heard. */
    private static final class Node {
        final SimpleMeterRegistry registry = new SimpleMeterRegistry();
        final RedisClusterLink link;
        final BlockingQueue<DeviceId> woken = new LinkedBlockingQueue<>();
        final BlockingQueue<ClusterLink.Committed> carried = new LinkedBlockingQueue<>();
        final BlockingQueue<String> replaced = new LinkedBlockingQueue<>();
        final BlockingQueue<String> presence = new LinkedBlockingQueue<>();
        final AtomicInteger reconnects = new AtomicInteger();
        final Map<DeviceId, Long> sessions = new ConcurrentHashMap<>();

        Node(String id, long ttlMs) {
            link = new RedisClusterLink(redis.uri(), id, ttlMs, registry);
            link.start(new ClusterLink.Listener() {
                @Override
                public void inboxChanged(DeviceId device) {
                    woken.add(device);
                }

                @Override
                public void committed(DeviceId device, StoredMessage message, long after) {
                    carried.add(new ClusterLink.Committed(device, message, after));
                }

                @Override
                public void replaced(DeviceId device, long session) {
                    replaced.add(device + " " + session);
                }

                @Override
                public void presenceChanged(String user, long lastSeenMs) {
                    presence.add(user + " " + lastSeenMs);
                }

                @Override
                public void reconnected() {
                    reconnects.incrementAndGet();
                }

                @Override
                public void forEachSession(BiConsumer<DeviceId, Long> action) {
                    sessions.forEach(action);
                }
            });
        }

        void connect(DeviceId device, long session) {
            sessions.put(device, session);
            link.connected(device, session);
        }

        double counter(String name, String kind) {
            return registry.get(name).tag("kind", kind).counter().count();
        }
    }

    @Test
    void shouldCarryEntriesToTheNodeThatServesTheirDeviceAndWakeItForTooLargeOnes() throws Exception {
        b.connect(BOB, 7);
        awaitEntry(BOB, "node-b 7");
        ClusterLink.Committed message = entry(BOB, 41, 40, 100);
        ClusterLink.Committed receipt = new ClusterLink.Committed(BOB, StoredMessage.receipt(42,
            MessageKind.RECEIPT_READ, message.message(), CAROL, 1_700_000_000_123L), 41);
        ClusterLink.Committed large = entry(BOB, 43, 42, RedisClusterLink.CARRY_LIMIT);

        // carol has no session anywhere
        a.link.committed(List.of(message, entry(CAROL, 44, 0, 10), receipt, large));

        assertThat(b.carried.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).as("every field, and the id before it")
            .usingRecursiveComparison().isEqualTo(message);
        assertThat(b.carried.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).usingRecursiveComparison().isEqualTo(receipt);
        assertThat(b.woken.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the large entry is read from the store")
            .isEqualTo(BOB);
        await().atMost(WAIT).until(() -> a.counter("courier.cluster.signals.sent", "wake") == 1
            && a.counter("courier.cluster.signals.sent", "entry") == 2);
        assertThat(b.counter("courier.cluster.signals.received", "entry")).isEqualTo(2);
        assertThat(b.counter("courier.cluster.signals.received", "wake")).isEqualTo(1);
        assertThat(b.carried).isEmpty();
        assertThat(a.woken).as("a node is not signalled for its own devices, nor for offline ones").isEmpty();
        assertThat(a.carried).isEmpty();
    }

    @Test
    void shouldIgnoreAMalformedEntrySignal() throws Exception {
        b.connect(BOB, 7);
        awaitEntry(BOB, "node-b 7");
        redis.command("SPUBLISH", RedisClusterLink.NODE_PREFIX + "node-b", "e AQAAAAN");
        redis.command("SPUBLISH", RedisClusterLink.NODE_PREFIX + "node-b", "e !!");
        a.link.committed(List.of(entry(BOB, 5, 0, 1)));
        assertThat(b.carried.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).as("what follows still arrives")
            .extracting(c -> c.message().serverId()).isEqualTo(5L);
        assertThat(b.carried).isEmpty();
    }

    /** A message of {@code payloadBytes} for {@code to}, numbered {@code id}, after {@code after}. */
    private static ClusterLink.Committed entry(DeviceId to, long id, long after, int payloadBytes) {
        byte[] payload = new byte[payloadBytes];
        java.util.Arrays.fill(payload, (byte) 7);
        return new ClusterLink.Committed(to, new StoredMessage(id, MessageKind.MESSAGE, new DeviceId("alice", "phone"),
            to.user(), "c-" + id, 0, 1_700_000_000_000L + id, "text/plain", payload, new byte[] {1, 2, 3}), after);
    }

    @Test
    void shouldTellTheNodeThatHeldADeviceToCloseItsSessionWhenItConnectsElsewhere() throws Exception {
        a.connect(BOB, 3);
        awaitEntry(BOB, "node-a 3");

        b.connect(BOB, 11);

        assertThat(a.replaced.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("bob/1 3");
        awaitEntry(BOB, "node-b 11");
        // a's session closes: its compare-and-delete leaves b's entry alone.
        a.link.disconnected(BOB, 3);
        a.link.committed(List.of(entry(BOB, 1, 0, 1)));
        assertThat(b.carried.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isNotNull();
        assertThat(redis.command("GET", RedisClusterLink.key(BOB))).isEqualTo("node-b 11");
        assertThat(b.replaced).isEmpty();
    }

    @Test
    void shouldForgetASessionThatClosedAndLetADeadNodesEntriesExpire() throws Exception {
        b.connect(BOB, 1);
        awaitEntry(BOB, "node-b 1");
        b.sessions.remove(BOB);
        b.link.disconnected(BOB, 1);
        await().atMost(WAIT).until(() -> "$-1".equals(redis.command("GET", RedisClusterLink.key(BOB))));

        Node dying = new Node("node-c", 300);
        dying.connect(CAROL, 5);
        awaitEntry(CAROL, "node-c 5");
        dying.link.close(); // stops renewing, as a node killed with -9 would
        await().atMost(WAIT).until(() -> "$-1".equals(redis.command("GET", RedisClusterLink.key(CAROL))));
    }

    @Test
    void shouldRewriteItsEntriesAndWakeItsSessionsWhenRedisComesBack() throws Exception {
        b.connect(BOB, 9);
        awaitEntry(BOB, "node-b 9");

        redis.restart(); // empty: the directory is gone, and so are the subscriptions

        await().atMost(WAIT).until(() -> b.reconnects.get() >= 1 && a.reconnects.get() >= 1);
        awaitEntry(BOB, "node-b 9");
        assertThat(b.registry.get("courier.cluster.reconnects").counter().count()).isGreaterThanOrEqualTo(1);
        // Signals flow again once each side has resubscribed.
        await().atMost(WAIT).untilAsserted(() -> {
            a.link.committed(List.of(entry(BOB, 1, 0, 1)));
            assertThat(b.carried.poll(200, TimeUnit.MILLISECONDS)).isNotNull();
        });
    }

    @Test
    void shouldTellEveryOtherNodeOfAPresenceChangeAndSeeDevicesOnlineElsewhere() throws Exception {
        DeviceId bobLaptop = new DeviceId("bob", "laptop");
        assertThat(a.link.onlineElsewhere(List.of(BOB, bobLaptop))).isFalse();
        b.connect(bobLaptop, 4);
        awaitEntry(bobLaptop, "node-b 4");

        b.link.presenceChanged("bob", 0);

        assertThat(a.presence.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("bob 0");
        assertThat(a.link.onlineElsewhere(List.of(BOB, bobLaptop))).as("bob's laptop is on node b").isTrue();
        assertThat(b.link.onlineElsewhere(List.of(BOB, bobLaptop))).as("for node b that is here, not elsewhere")
            .isFalse();
        b.link.presenceChanged("bob", 1234);
        assertThat(a.presence.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("bob 1234");
        assertThat(b.presence).as("a node does not hear its own changes").isEmpty();
    }

    @Test
    void shouldRefuseANodeIdThatCannotBeAChannelName() {
        assertThatThrownBy(() -> new RedisClusterLink(redis.uri(), "node a", 1_000, new SimpleMeterRegistry()))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cluster.node-id");
    }

    private static void awaitEntry(DeviceId device, String value) {
        await().atMost(WAIT).until(() -> value.equals(redis.command("GET", RedisClusterLink.key(device))));
    }
}
