package io.courier.router;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.courier.router.auth.InsecureAuthenticator;
import io.courier.storage.DeviceId;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.memory.InMemoryStorageProvider;
import io.courier.transport.proto.Accepted;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.DeliveryAck;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Heartbeat;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Send;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Fair shares: what bounds one connection's claim on the router, each limit on its own, with
 * in-process connections, the real writer, the in-memory store and a clock the test moves (so
 * a rate limit refills only when the test says). Each test checks that another user is not
 * affected by what one user's connection was refused.
 */
class RouterFairSharesTest {

    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final List<RecordingConnection> connections = new ArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private SimpleMeterRegistry registry;

    @AfterEach
    void stop() throws Exception {
        for (RecordingConnection connection : connections) {
            connection.shutdown();
        }
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
    }

    private Router router(RouterConfig config) {
        return router(config, memory());
    }

    private Router router(RouterConfig config, StorageBackend storage) {
        registry = new SimpleMeterRegistry();
        closeables.add(storage);
        Router router = new Router(config, storage, new InsecureAuthenticator(), registry, clock).start();
        closeables.add(router);
        return router;
    }

    private static StorageBackend memory() {
        return new InMemoryStorageProvider().open(new StorageConfig(Path.of("unused"), Map.of()));
    }

    // ---------------------------------------------------------------- rate limits

    @Test
    void shouldRefuseFramesAboveTheRateWithWhenToRetryAndTakeThemAgainOnceTheBucketRefills() throws Exception {
        Router router = router(RouterConfig.builder().framesPerSecond(10).frameBurst(5).build());
        RecordingConnection alice = connect(router, "alice", "1");
        RecordingConnection carol = connect(router, "carol", "1");

        for (int i = 0; i < 7; i++) {
            alice.receive(send("bob", "m-" + i));
        }
        await().atMost(10, SECONDS).until(() -> accepted(alice).size() + errors(alice).size() == 7);
        assertThat(accepted(alice)).extracting(Accepted::getClientMessageId)
            .containsExactly("m-0", "m-1", "m-2", "m-3", "m-4");
        assertThat(errors(alice)).hasSize(2).allSatisfy(e -> {
            assertThat(e.getCode()).isEqualTo(Error.Code.RATE_LIMITED);
            assertThat(e.getFatal()).isFalse();
            assertThat(e.getRetryAfterMs()).isEqualTo(100);
            assertThat(e.getText()).contains("router.frames-per-second = 10").contains("send it again in 100 ms");
        });
        assertThat(errors(alice)).extracting(Error::getClientMessageId).containsExactly("m-5", "m-6");
        assertThat(registry.get("courier.rate.limited").tag("limit", "frames").counter().count()).isEqualTo(2);

        // Another connection has buckets of its own.
        acceptedId(carol, "bob", "c-1");

        // After the wait it asked for, the refused send is taken.
        clock.advance(Duration.ofMillis(100));
        alice.receive(send("bob", "m-5"));
        await().atMost(10, SECONDS).until(() -> accepted(alice).size() == 6);
        assertThat(accepted(alice).get(5).getClientMessageId()).isEqualTo("m-5");
        assertThat(alice.isOpen()).isTrue();
    }

    @Test
    void shouldRefuseAFrameAboveTheByteRateNamingThatLimit() throws Exception {
        Router router = router(RouterConfig.builder().bytesPerSecond(1_000).byteBurst(2_000).build());
        RecordingConnection alice = connect(router, "alice", "1");
        alice.receive(send("bob", "big-1", 1_500));
        alice.receive(send("bob", "big-2", 1_500));
        await().atMost(10, SECONDS).until(() -> accepted(alice).size() + errors(alice).size() == 2);

        assertThat(accepted(alice)).extracting(Accepted::getClientMessageId).containsExactly("big-1");
        assertThat(errors(alice)).singleElement().satisfies(e -> {
            assertThat(e.getCode()).isEqualTo(Error.Code.RATE_LIMITED);
            assertThat(e.getText()).contains("router.bytes-per-second = 1000");
            assertThat(e.getRetryAfterMs()).isPositive();
        });
        assertThat(registry.get("courier.rate.limited").tag("limit", "bytes").counter().count()).isEqualTo(1);
    }

    @Test
    void shouldCloseAConnectionThatGoesOnFarBeyondItsRateAndNotAnswerItsHeartbeats() throws Exception {
        Router router = router(RouterConfig.builder().framesPerSecond(10).frameBurst(2).build());
        RecordingConnection mallory = connect(router, "mallory", "1");
        RecordingConnection carol = connect(router, "carol", "1");
        Frame heartbeat = Frame.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build();

        // Two frames pass; the next ten times the burst are refused, heartbeats without an answer.
        mallory.receive(heartbeat);
        mallory.receive(heartbeat);
        for (int i = 0; i < 19; i++) {
            mallory.receive(i % 2 == 0 ? heartbeat : send("bob", "m-" + i));
        }
        mallory.sync();
        assertThat(mallory.isOpen()).isTrue();
        assertThat(errors(mallory)).hasSize(9).extracting(Error::getCode).containsOnly(Error.Code.RATE_LIMITED);

        mallory.receive(heartbeat);
        await().atMost(10, SECONDS).until(() -> !mallory.isOpen());
        assertThat(errors(mallory).get(errors(mallory).size() - 1)).satisfies(e -> {
            assertThat(e.getCode()).isEqualTo(Error.Code.RATE_LIMITED);
            assertThat(e.getFatal()).isTrue();
            assertThat(e.getText()).contains("20 frames were refused");
        });
        assertThat(registry.get("courier.rate.limit.closed").counter().count()).isEqualTo(1);
        acceptedId(carol, "bob", "still-fine");
    }

    // ---------------------------------------------------------------- the writer's queue, shared

    @Test
    void shouldRefuseASessionBeyondItsShareOfTheWritersQueueOnItsOwnConnectionOnly() throws Exception {
        GatedStorage gated = new GatedStorage(memory());
        Router router = router(RouterConfig.builder().writerShare(4).maxIdsPerAck(4).build(), gated);
        RecordingConnection alice = connect(router, "alice", "1");
        RecordingConnection carol = connect(router, "carol", "1");

        // The writer is held inside its first commit: alice's sends wait, counted against her share.
        alice.receive(send("bob", "m-0"));
        await().atMost(10, SECONDS).until(gated::commitWaiting);
        for (int i = 1; i < 8; i++) {
            alice.receive(send("bob", "m-" + i));
        }
        alice.sync();
        assertThat(errors(alice)).hasSize(4).allSatisfy(e -> {
            assertThat(e.getCode()).isEqualTo(Error.Code.OVERLOADED);
            assertThat(e.getText()).contains("router.writer-share = 4");
        });
        assertThat(errors(alice)).extracting(Error::getClientMessageId).containsExactly("m-4", "m-5", "m-6", "m-7");

        // carol still finds room, while alice's whole share waits.
        carol.receive(send("bob", "c-0"));
        carol.sync();
        assertThat(errors(carol)).isEmpty();

        gated.open();
        await().atMost(10, SECONDS).until(() -> accepted(alice).size() == 4 && accepted(carol).size() == 1);
        // The writer gives a batch's units back once it has answered it, before its next batch:
        // after carol's next single tick, alice's share is free again.
        acceptedId(carol, "bob", "c-1");
        acceptedId(alice, "bob", "m-4");
        assertThat(errors(alice)).hasSize(4);
        assertThat(registry.get("courier.storage.share.full").counter().count()).isEqualTo(4);
    }

    @Test
    void shouldTakeEachSessionsWorkInTurnSoAnotherSessionWaitsBehindOneQuantumNotAWholeBacklog() throws Exception {
        GatedStorage gated = new GatedStorage(memory());
        Router router = router(RouterConfig.builder().maxBatch(4).build(), gated);
        RecordingConnection alice = connect(router, "alice", "1");
        RecordingConnection carol = connect(router, "carol", "1");

        // alice's backlog builds up behind a held commit; carol's one send comes after all of it.
        alice.receive(send("bob", "a-0"));
        await().atMost(10, SECONDS).until(gated::commitWaiting);
        for (int i = 1; i <= 20; i++) {
            alice.receive(send("bob", "a-" + i));
        }
        alice.sync();
        carol.receive(send("bob", "c-0"));
        carol.sync();
        gated.open();
        await().atMost(10, SECONDS).until(() -> accepted(alice).size() == 21 && accepted(carol).size() == 1);

        // Batches of four: a-0; a-1 to a-4 (alice's turn); then carol's turn comes, before most of alice's.
        long carols = accepted(carol).get(0).getServerMessageId();
        List<Long> alices = accepted(alice).stream().map(Accepted::getServerMessageId).toList();
        assertThat(alices).isSorted();
        assertThat(alices.stream().filter(id -> id < carols)).hasSizeLessThanOrEqualTo(8);
        assertThat(accepted(alice)).extracting(Accepted::getClientMessageId)
            .as("each session's commands still in the order they arrived")
            .containsExactlyElementsOf(IntStream.rangeClosed(0, 20).mapToObj(i -> "a-" + i).toList());
    }

    @Test
    void shouldStopReadingConnectionsThatOfferWhileHalfTheWritersQueueWaitsAndResumeThemOnceItDrains() throws Exception {
        GatedStorage gated = new GatedStorage(memory());
        Router router = router(RouterConfig.builder().writerQueueCapacity(16).build(), gated);
        RecordingConnection alice = connect(router, "alice", "1");
        RecordingConnection carol = connect(router, "carol", "1");
        RecordingConnection dave = connect(router, "dave", "1");

        // The writer is held inside its first commit; alice fills half the queue and one more.
        alice.receive(send("bob", "a-0"));
        await().atMost(10, SECONDS).until(gated::commitWaiting);
        for (int i = 1; i <= 8; i++) {
            alice.receive(send("bob", "a-" + i));
        }
        alice.sync();
        assertThat(alice.reading()).as("alice offered with more than half the queue waiting").isFalse();
        // carol's send, offered above half too, is taken (not refused) and pauses her reads;
        // dave, who offers nothing, is read on.
        carol.receive(send("bob", "c-0"));
        carol.sync();
        assertThat(carol.reading()).isFalse();
        assertThat(dave.reading()).isTrue();
        assertThat(errors(alice)).isEmpty();
        assertThat(errors(carol)).isEmpty();
        assertThat(registry.get("courier.storage.reads.paused").counter().count()).isEqualTo(2);

        gated.open();
        await().atMost(10, SECONDS).until(() -> accepted(alice).size() == 9 && accepted(carol).size() == 1);
        await().atMost(10, SECONDS).until(() -> alice.reading() && carol.reading());
        acceptedId(dave, "bob", "d-0");
    }

    // ---------------------------------------------------------------- ids per ack

    @Test
    void shouldRefuseAnAckAboveTheIdCapWholeAndAnswerBogusIdsWithOneErrorPerFrame() throws Exception {
        Router router = router(RouterConfig.defaults());
        RecordingConnection alice = connect(router, "alice", "1");
        RecordingConnection bob = connect(router, "bob", "1");
        long id = acceptedId(alice, "bob", "real");
        await().atMost(10, SECONDS).until(() -> deliveries(bob).size() == 1);

        bob.receive(ack(LongStream.rangeClosed(1_000_000, 1_001_024).toArray()));
        await().atMost(10, SECONDS).until(() -> errors(bob).size() == 1);
        assertThat(errors(bob).get(0)).satisfies(e -> {
            assertThat(e.getCode()).isEqualTo(Error.Code.INVALID_ARGUMENT);
            assertThat(e.getText()).contains("1025 server ids").contains("router.max-ids-per-ack = 1024");
            assertThat(e.getFatal()).isFalse();
        });

        // 1,000 bogus ids and the real one: the real one is taken, the bogus ones get one error.
        long[] ids = LongStream.concat(LongStream.rangeClosed(2_000_001, 2_001_000), LongStream.of(id)).toArray();
        bob.receive(ack(ids));
        await().atMost(10, SECONDS).until(() -> receipts(alice) == 1);
        bob.sync();
        alice.receive(send("bob", "barrier"));
        await().atMost(10, SECONDS).until(() -> deliveries(bob).size() == 2);
        assertThat(errors(bob)).hasSize(2);
        assertThat(errors(bob).get(1)).satisfies(e -> {
            assertThat(e.getCode()).isEqualTo(Error.Code.UNKNOWN_MESSAGE);
            assertThat(e.getServerMessageId()).isEqualTo(2_000_001);
            assertThat(e.getText()).startsWith("1000 server message ids (2000001, 2000002, 2000003, 2000004, 2000005, …)")
                .contains("not in the inbox of bob/1");
        });
    }

    // ---------------------------------------------------------------- inbox quota

    @Test
    void shouldRefuseASendToAFullInboxToTheSenderAndTakeItOnceTheRecipientCaughtUp() throws Exception {
        StorageBackend storage = memory();
        Router router = router(RouterConfig.builder().inboxMaxMessages(3).build(), storage);
        RecordingConnection alice = connect(router, "alice", "1");
        for (int i = 0; i < 4; i++) {
            alice.receive(send("bob", "m-" + i));
        }
        await().atMost(10, SECONDS).until(() -> accepted(alice).size() + errors(alice).size() == 4);
        assertThat(accepted(alice)).hasSize(3);
        assertThat(errors(alice)).singleElement().satisfies(e -> {
            assertThat(e.getCode()).isEqualTo(Error.Code.INBOX_FULL);
            assertThat(e.getClientMessageId()).isEqualTo("m-3");
            assertThat(e.getFatal()).isFalse();
            assertThat(e.getText()).contains("bob/1").contains("router.inbox-max-messages = 3");
        });
        assertThat(storage.messages().pendingCount(DeviceId.primary("bob"))).isEqualTo(3);

        // Another recipient is not affected.
        acceptedId(alice, "dave", "to-dave");

        // bob drains and acknowledges: his inbox has room again.
        RecordingConnection bob = connect(router, "bob", "1");
        await().atMost(10, SECONDS).until(() -> deliveries(bob).size() == 3);
        bob.receive(ack(deliveries(bob).stream().mapToLong(Deliver::getServerMessageId).toArray()));
        await().atMost(10, SECONDS).until(() -> storage.messages().pendingCount(DeviceId.primary("bob")) == 0);
        acceptedId(alice, "bob", "m-3");
        await().atMost(10, SECONDS).until(() -> deliveries(bob).size() == 4);
        assertThat(deliveries(bob)).extracting(Deliver::getClientMessageId).containsExactly("m-0", "m-1", "m-2", "m-3");
    }

    @Test
    void shouldRefuseASendThatWouldTakeAnInboxAboveItsByteQuota() throws Exception {
        Router router = router(RouterConfig.builder().inboxMaxBytes(1_000).build());
        RecordingConnection alice = connect(router, "alice", "1");
        alice.receive(send("bob", "a", 600));
        alice.receive(send("bob", "b", 600));
        alice.receive(send("bob", "c", 300));
        await().atMost(10, SECONDS).until(() -> accepted(alice).size() + errors(alice).size() == 3);
        assertThat(accepted(alice)).extracting(Accepted::getClientMessageId).containsExactly("a", "c");
        assertThat(errors(alice)).singleElement().satisfies(e -> {
            assertThat(e.getCode()).isEqualTo(Error.Code.INBOX_FULL);
            assertThat(e.getText()).contains("router.inbox-max-bytes = 1000");
        });
    }

    // ---------------------------------------------------------------- devices per user

    @Test
    void shouldRefuseTheHelloOfADeviceBeyondTheLimitAndKeepTheOthersWorking() throws Exception {
        StorageBackend storage = memory();
        Router router = router(RouterConfig.builder().maxDevicesPerUser(2).build(), storage);
        RecordingConnection phone = connect(router, "bob", "1");
        RecordingConnection laptop = connect(router, "bob", "laptop");
        RecordingConnection tablet = open(router);
        tablet.receive(hello("bob", "tablet"));
        // Sent right after its hello: never stored, since the writer refuses the device.
        tablet.receive(send("alice", "from-tablet"));
        await().atMost(10, SECONDS).until(() -> !tablet.isOpen());

        assertThat(tablet.written).noneMatch(Frame::hasAccepted);
        assertThat(errors(tablet)).singleElement().satisfies(e -> {
            assertThat(e.getCode()).isEqualTo(Error.Code.TOO_MANY_DEVICES);
            assertThat(e.getFatal()).isTrue();
            assertThat(e.getText()).contains("bob has 2 devices").contains("'tablet'");
        });
        assertThat(storage.devices().devices("bob")).extracting(DeviceId::device).containsExactly("1", "laptop");
        assertThat(storage.messages().pendingCount(DeviceId.primary("alice"))).isZero();

        // The two devices bob has keep working, and the laptop may come back.
        RecordingConnection alice = connect(router, "alice", "1");
        acceptedId(alice, "bob", "hi");
        await().atMost(10, SECONDS).until(() -> deliveries(phone).size() == 1 && deliveries(laptop).size() == 1);
        disconnect(laptop);
        RecordingConnection laptopAgain = connect(router, "bob", "laptop");
        acceptedId(laptopAgain, "alice", "from-laptop");
        assertThat(laptopAgain.written.get(0).hasWelcome()).as("welcome first").isTrue();
    }

    // ---------------------------------------------------------------- helpers

    private RecordingConnection open(Router to) {
        RecordingConnection connection = new RecordingConnection(to);
        connections.add(connection);
        return connection;
    }

    private RecordingConnection connect(Router to, String user, String device) {
        RecordingConnection connection = open(to);
        connection.receive(hello(user, device));
        await().atMost(10, SECONDS).until(() -> connection.written.stream().anyMatch(Frame::hasWelcome));
        return connection;
    }

    private void disconnect(RecordingConnection connection) throws InterruptedException {
        connections.remove(connection);
        connection.shutdown();
    }

    private static Frame hello(String user, String device) {
        return Frame.newBuilder().setHello(Hello.newBuilder().setUser(user).setDevice(device)).build();
    }

    private static long acceptedId(RecordingConnection from, String to, String clientId) {
        int before = accepted(from).size();
        from.receive(send(to, clientId));
        await().atMost(10, SECONDS).until(() -> accepted(from).size() == before + 1);
        return accepted(from).get(before).getServerMessageId();
    }

    private static Frame send(String to, String clientId) {
        return send(to, clientId, 10);
    }

    private static Frame send(String to, String clientId, int payloadBytes) {
        return Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId(clientId).setRecipient(to)
            .setPayload(ByteString.copyFrom(new byte[payloadBytes]))).build();
    }

    private static Frame ack(long... ids) {
        DeliveryAck.Builder ack = DeliveryAck.newBuilder();
        for (long id : ids) {
            ack.addServerMessageIds(id);
        }
        return Frame.newBuilder().setDeliveryAck(ack).build();
    }

    private static List<Accepted> accepted(RecordingConnection c) {
        return c.written.stream().filter(Frame::hasAccepted).map(Frame::getAccepted).toList();
    }

    private static List<Deliver> deliveries(RecordingConnection c) {
        return c.written.stream().filter(Frame::hasDeliver).map(Frame::getDeliver).toList();
    }

    private static long receipts(RecordingConnection c) {
        return c.written.stream().filter(Frame::hasReceipt).count();
    }

    private static List<Error> errors(RecordingConnection c) {
        return c.written.stream().filter(Frame::hasError).map(Frame::getError).toList();
    }
}
