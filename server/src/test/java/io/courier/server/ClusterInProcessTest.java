package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.cluster.redis.RedisProcess;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Presence;
import io.courier.transport.proto.PresenceQuery;
import io.courier.transport.proto.PresenceSubscribe;
import io.courier.transport.proto.Receipt.Status;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two cluster nodes in this JVM, on one PostgreSQL schema and a real Redis, with the same HMAC
 * keys: users on different nodes reach each other live with every tick, a device offline is
 * drained wherever it comes back, and a device that connects to the other node closes its first
 * session. (The failure tests run each node as its own process.)
 */
class ClusterInProcessTest {

    private static RedisProcess redis;

    @TempDir
    Path dir;

    private ServerFixture a;
    private ServerFixture b;

    @BeforeAll
    static void startRedis() throws Exception {
        redis = RedisProcess.start();
    }

    @AfterAll
    static void stopRedis() throws Exception {
        redis.close();
    }

    @BeforeEach
    void startNodes() {
        String schema = "cluster_" + Long.toHexString(System.nanoTime());
        a = node("a", schema);
        b = node("b", schema);
    }

    private ServerFixture node(String id, String schema) {
        List<String> overrides = new ArrayList<>(PostgresForTests.overrides(schema));
        overrides.addAll(List.of("storage.backend=postgres", "cluster.enabled=true", "cluster.node-id=node-" + id,
            "cluster.redis=" + redis.uri(), "auth.options.key-dir=" + dir.resolve("keys").toAbsolutePath()));
        return new ServerFixture(dir.resolve(id), overrides.toArray(String[]::new));
    }

    @AfterEach
    void stopNodes() {
        a.close();
        b.close();
    }

    @Test
    void shouldDeliverLiveAcrossNodesWithEveryTickBothWays() throws Exception {
        TestClient alice = a.user("alice").connect();
        TestClient bob = b.user("bob").connect();

        alice.send("bob", "m-1", "hello from node a");
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> bob.deliveredCount() == 1);
        long id = alice.serverIdOf("m-1");
        assertThat(bob.deliveredSnapshot().get(0).getServerMessageId()).isEqualTo(id);
        assertThat(bob.deliveredSnapshot().get(0).getPayload().toStringUtf8()).isEqualTo("hello from node a");
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.receiptsFor(id).size() == 1);
        bob.markRead(id);
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.receiptsFor(id).size() == 2);
        assertThat(alice.receiptsFor(id)).containsExactly(Status.DELIVERED, Status.READ);

        bob.send("alice", "r-1", "hello back from node b");
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.deliveredCount() == 1);
        long reply = bob.serverIdOf("r-1");
        assertThat(reply).as("ids go on rising across nodes").isGreaterThan(id);
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> bob.receiptsFor(reply).size() == 1);
        assertThat(b.server.registry().find("courier.cluster.wakes").counter().count()).isGreaterThanOrEqualTo(1);
    }

    @Test
    void shouldSayInHealthWhichNodeItIsAndWhetherItsRedisIsUp() throws Exception {
        java.net.http.HttpResponse<String> health = java.net.http.HttpClient.newHttpClient().send(
            java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + a.server.adminPort()
                + "/health")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).isEqualTo("ok\ncluster node node-a: redis connected\n");
    }

    @Test
    void shouldDeliverInOrderWhatTwoNodesAcceptedForOneRecipient() throws Exception {
        TestClient alice = a.user("alice").connect();
        TestClient carol = b.user("carol").connect();
        TestClient bob = b.device("bob", "1").connect();
        List<String> ids = IntStream.range(0, 100).mapToObj(i -> "m-" + i).toList();
        for (String id : ids) {
            alice.send("bob", "a-" + id, id);
            carol.send("bob", "c-" + id, id);
        }

        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> bob.deliveredCount() == 2 * ids.size());
        List<Deliver> got = bob.deliveredSnapshot();
        assertThat(got).extracting(Deliver::getServerMessageId).as("in id order, each once").isSorted()
            .doesNotHaveDuplicates();
        assertThat(got.stream().filter(d -> d.getSender().equals("alice")).map(Deliver::getClientMessageId))
            .as("per-sender order").containsExactlyElementsOf(ids.stream().map(id -> "a-" + id).toList());
        assertThat(got.stream().filter(d -> d.getSender().equals("carol")).map(Deliver::getClientMessageId))
            .containsExactlyElementsOf(ids.stream().map(id -> "c-" + id).toList());
    }

    @Test
    void shouldDrainAnOfflineDeviceOnWhicheverNodeItComesBackTo() throws Exception {
        TestClient alice = a.user("alice").connect();
        for (int i = 0; i < 20; i++) {
            alice.send("bob", "m-" + i, "text " + i);
        }
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.accepted.size() == 20);

        TestClient bob = b.user("bob").connect();
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> bob.deliveredCount() == 20);
        assertThat(bob.deliveredSnapshot()).extracting(Deliver::getClientMessageId)
            .containsExactlyElementsOf(IntStream.range(0, 20).mapToObj(i -> "m-" + i).toList());
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS)
            .until(() -> alice.receiptsFor(alice.serverIdOf("m-19")).contains(Status.DELIVERED));
    }

    @Test
    void shouldCopyToADeviceAnotherNodeRegisteredAfterThisNodeHadSentToItsUser() throws Exception {
        TestClient alice = a.user("alice").connect();
        alice.send("bob", "m-1", "before the laptop");
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.serverIdOf("m-1") > 0);

        TestClient laptop = b.device("bob", "laptop").connect(); // registered by node b
        alice.send("bob", "m-2", "after the laptop");

        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> laptop.deliveredCount() == 1);
        assertThat(laptop.deliveredSnapshot()).extracting(Deliver::getClientMessageId).containsExactly("m-2");
    }

    @Test
    void shouldShowPresenceAcrossNodes() throws Exception {
        TestClient alice = a.user("alice").connect();
        alice.raw(Frame.newBuilder().setRequestId(7).setPresenceSubscribe(PresenceSubscribe.newBuilder()
            .addUsers("bob")).build());
        assertThat(nextPresence(alice).getOnline()).as("bob has not connected anywhere").isFalse();

        TestClient bob = b.user("bob").connect();
        assertThat(nextPresence(alice).getOnline()).as("bob came online on node b").isTrue();
        alice.raw(Frame.newBuilder().setRequestId(8).setPresenceQuery(PresenceQuery.newBuilder().setUser("bob")).build());
        assertThat(nextPresence(alice).getOnline()).as("a query on node a sees him too").isTrue();

        bob.disconnect();
        Presence gone = nextPresence(alice);
        assertThat(gone.getOnline()).isFalse();
        assertThat(gone.getLastSeenMs()).as("last seen, from the shared store").isPositive();
    }

    private static Presence nextPresence(TestClient client) throws InterruptedException {
        Frame frame;
        do {
            frame = client.others.poll(TestClient.TIMEOUT_SECONDS, SECONDS);
            assertThat(frame).as("a presence frame").isNotNull();
        } while (!frame.hasPresence());
        return frame.getPresence();
    }

    @Test
    void shouldCloseTheFirstSessionOfADeviceThatConnectsToTheOtherNode() throws Exception {
        TestClient first = a.user("bob").connect();
        TestClient second = b.user("bob").connect();

        Error error = first.nextError();
        assertThat(error.getCode()).isEqualTo(Error.Code.SESSION_REPLACED);
        assertThat(error.getFatal()).isTrue();
        first.closedFuture().get(TestClient.TIMEOUT_SECONDS, SECONDS);
        assertThat(second.isOpen()).isTrue();

        // The directory now names node b: a message from node a reaches the second session.
        TestClient alice = a.user("alice").connect();
        alice.send("bob", "m-1", "to the new session");
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> second.deliveredCount() == 1);
    }
}
