package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.cluster.redis.RedisProcess;
import io.courier.router.auth.HmacKeyring;
import io.courier.router.auth.HmacTokenAuthenticator;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Receipt.Status;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acceptance for the cluster: three nodes, each its own process (the server executable's JVM),
 * on one PostgreSQL schema (reached through a proxy the test can cut) and a real redis-server the
 * test can restart. Every load is bounded in count; every wait in time.
 */
class ClusterProcessesTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final int NODES = 3;

    // Kept when a test fails: the nodes' logs are in it.
    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path dir;

    private RedisProcess redis;
    private TcpProxy postgres;
    private final List<ServerProcess> nodes = new ArrayList<>();
    private TransportClient transport;
    private Path keyDir;

    @BeforeEach
    void startCluster() throws Exception {
        redis = RedisProcess.start();
        URI pg = URI.create(System.getenv().getOrDefault("COURIER_PG_URL", "jdbc:postgresql://127.0.0.1:5432/courier")
            .substring("jdbc:".length()));
        postgres = new TcpProxy(pg.getHost(), pg.getPort());
        keyDir = dir.resolve("auth-keys").toAbsolutePath();
        String schema = "cluster_p_" + Long.toHexString(System.nanoTime());
        for (int i = 0; i < NODES; i++) {
            List<String> overrides = new ArrayList<>();
            for (String override : PostgresForTests.overrides(schema)) {
                overrides.add(override.startsWith("storage.options.url=")
                    ? "storage.options.url=jdbc:postgresql://127.0.0.1:" + postgres.port + pg.getPath() : override);
            }
            overrides.addAll(List.of("storage.backend=postgres", "storage.options.connect-timeout-ms=1000",
                "cluster.enabled=true", "cluster.node-id=node-" + i, "cluster.redis=" + redis.uri(),
                "cluster.directory-ttl-ms=1500", "auth.options.key-dir=" + keyDir));
            // One at a time: the first creates the HMAC keys the others then read.
            Path home = java.nio.file.Files.createDirectories(dir.resolve("node-" + i));
            nodes.add(new ServerProcess(home, overrides.toArray(String[]::new)).start());
        }
        transport = TransportProviders.find("tcp").createClient(TransportSettings.of(0));
    }

    @AfterEach
    void stopCluster() throws Exception {
        if (transport != null) {
            transport.close();
        }
        for (ServerProcess node : nodes) {
            node.close();
        }
        postgres.close();
        redis.close();
    }

    private TestClient user(String name, int node) {
        long now = System.currentTimeMillis();
        String token = HmacTokenAuthenticator.mint(HmacKeyring.read(keyDir), name, "*", now, now + 3_600_000);
        return new TestClient(transport, nodes.get(node).address(), name, "1", token);
    }

    @Test
    void shouldDeliverEveryonesMessagesToEveryoneOnceInOrderWithDeliveredAndReadReceipts() throws Exception {
        List<TestClient> users = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            users.add(user(String.format("u%02d", i), i % NODES).connect());
        }
        int rounds = 2;
        for (int r = 0; r < rounds; r++) {
            for (TestClient from : users) {
                for (TestClient to : users) {
                    if (from != to) {
                        from.send(to.user, from.user + "-" + to.user + "-" + r, "round " + r);
                    }
                }
            }
        }
        int each = (users.size() - 1) * rounds;
        for (TestClient to : users) {
            await().atMost(WAIT).until(() -> to.deliveredCount() == each);
            List<Deliver> got = to.deliveredSnapshot();
            assertThat(got).extracting(Deliver::getServerMessageId).as(to.user).doesNotHaveDuplicates();
            for (TestClient from : users) {
                if (from != to) {
                    assertThat(got.stream().filter(d -> d.getSender().equals(from.user)).map(Deliver::getClientMessageId))
                        .as("%s's messages to %s, in the order sent", from.user, to.user)
                        .containsExactlyElementsOf(IntStream.range(0, rounds)
                            .mapToObj(r -> from.user + "-" + to.user + "-" + r).toList());
                }
            }
            to.markRead(got.stream().mapToLong(Deliver::getServerMessageId).toArray());
        }
        for (TestClient from : users) {
            assertThat(from.accepted).hasSize(each);
            await().atMost(WAIT).untilAsserted(() -> from.acceptedFirstIds().values().forEach(id ->
                assertThat(from.receiptsFor(id)).as("%s's message %d", from.user, id)
                    .containsExactly(Status.DELIVERED, Status.READ)));
        }
    }

    @Test
    void shouldLoseNothingAcceptedWhenANodeIsKilledUnderLoadAndForgetItsDevices() throws Exception {
        // Twelve users in a ring, four per node; each sends to the next. One more user on node 0
        // goes offline with it and never comes back: its directory entry must expire.
        List<TestClient> ring = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            ring.add(user("r" + i, i % NODES).connect());
        }
        TestClient gone = user("gone", 0).connect();
        Map<TestClient, List<String>> sent = new LinkedHashMap<>();
        ring.forEach(u -> sent.put(u, new ArrayList<>()));
        int windows = 20;
        int perWindow = 10;
        for (int w = 0; w < windows; w++) {
            if (w == windows / 2) {
                nodes.get(0).kill();
                for (TestClient u : ring) {
                    if (u.address().equals(nodes.get(0).address())) {
                        u.closedFuture().get(WAIT.toSeconds(), SECONDS);
                        // As a device does: reconnect elsewhere, resume after what it has, and send
                        // again what never got a single tick (the same ids: the server de-duplicates).
                        u.at(nodes.get(1).address()).connect(u.lastDeliveredId());
                        for (String id : sent.get(u)) {
                            if (u.serverIdOf(id) == 0) {
                                u.send(next(ring, u).user, id, id);
                            }
                        }
                    }
                }
            }
            for (TestClient u : ring) {
                for (int k = 0; k < perWindow; k++) {
                    String id = u.user + "-" + w + "-" + k;
                    sent.get(u).add(id);
                    u.send(next(ring, u).user, id, id);
                }
            }
            for (TestClient u : ring) {
                if (!u.address().equals(nodes.get(0).address()) || w >= windows / 2) {
                    await().atMost(WAIT).until(() -> sent.get(u).stream().allMatch(id -> u.serverIdOf(id) > 0));
                }
            }
        }
        for (TestClient from : ring) {
            TestClient to = next(ring, from);
            await().atMost(WAIT).until(() -> to.deliveredSnapshot().stream()
                .filter(d -> d.getSender().equals(from.user)).count() == sent.get(from).size());
            assertThat(to.deliveredSnapshot().stream().filter(d -> d.getSender().equals(from.user))
                .map(Deliver::getClientMessageId)).as("%s to %s: every message, once, in the order sent", from.user, to.user)
                .containsExactlyElementsOf(sent.get(from));
        }
        assertThat(gone.closedFuture()).isDone();
        await().atMost(WAIT).until(() -> "$-1".equals(redis.command("GET", "courier:dev:gone/1")));
    }

    @Test
    void shouldResumeLiveDeliveryAndLoseNothingWhenRedisRestarts() throws Exception {
        TestClient alice = user("alice", 0).connect();
        TestClient bob = user("bob", 1).connect();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 90; i++) {
            if (i == 30) {
                await().atMost(WAIT).until(() -> bob.deliveredCount() == 30);
                redis.restart(); // empty: directory and subscriptions gone; what is sent now may miss its signal
            }
            if (i == 60) {
                // Well after the restart: live delivery works again, without bob reconnecting.
                await().atMost(WAIT).until(() -> bob.deliveredCount() == 60);
            }
            String id = "m-" + i;
            ids.add(id);
            alice.send("bob", id, id);
        }
        await().atMost(WAIT).until(() -> bob.deliveredCount() == ids.size());
        assertThat(bob.deliveredSnapshot()).extracting(Deliver::getClientMessageId).containsExactlyElementsOf(ids);
        assertThat(bob.isOpen()).as("bob never had to reconnect").isTrue();
        await().atMost(WAIT).until(() -> alice.receiptsFor(alice.serverIdOf("m-89")).contains(Status.DELIVERED));
    }

    @Test
    void shouldRefuseSendsWhilePostgresIsUnreachableAndWorkAgainWhenItReturns() throws Exception {
        TestClient alice = user("alice", 0).connect();
        TestClient bob = user("bob", 1).connect();
        for (int i = 0; i < 10; i++) {
            alice.send("bob", "before-" + i, "before");
        }
        await().atMost(WAIT).until(() -> bob.deliveredCount() == 10);

        postgres.cut();
        List<String> during = IntStream.range(0, 10).mapToObj(i -> "during-" + i).toList();
        during.forEach(id -> alice.send("bob", id, id));
        Set<String> refused = new HashSet<>();
        await().atMost(WAIT).until(() -> {
            for (Error e = alice.errors.poll(); e != null; e = alice.errors.poll()) {
                assertThat(e.getCode()).as(e.getText()).isIn(Error.Code.INTERNAL, Error.Code.OVERLOADED);
                refused.add(e.getClientMessageId());
            }
            return refused.containsAll(during);
        });
        assertThat(during).as("nothing is acknowledged while the store is away").allMatch(id -> alice.serverIdOf(id) == 0);
        assertThat(alice.isOpen()).isTrue();

        postgres.restore();
        // The client sends what was refused again, with the same ids, until each gets its single tick.
        await().atMost(WAIT).pollInterval(Duration.ofSeconds(1)).until(() -> {
            during.stream().filter(id -> alice.serverIdOf(id) == 0).forEach(id -> alice.send("bob", id, id));
            return during.stream().allMatch(id -> alice.serverIdOf(id) > 0);
        });
        await().atMost(WAIT).until(() -> bob.deliveredCount() == 20);
        assertThat(bob.deliveredSnapshot().stream().map(Deliver::getClientMessageId).filter(id -> id.startsWith("during")))
            .containsExactlyElementsOf(during);
    }

    private static TestClient next(List<TestClient> ring, TestClient u) {
        return ring.get((ring.indexOf(u) + 1) % ring.size());
    }
}
