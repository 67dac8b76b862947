package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.storage.DeviceId;
import io.courier.storage.MessageKind;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.StorageProviders;
import io.courier.storage.StoredMessage;
import io.courier.storage.WriteBatch;
import com.google.protobuf.ByteString;
import io.courier.transport.ClientConnection;
import io.courier.transport.ClientListener;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.DeliveryAck;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Error.Code;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Heartbeat;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Send;
import io.netty.util.ResourceLeakDetector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acceptance: one misbehaving client costs that client, never the others. Each test runs a real
 * server on loopback while a bystander pair keeps chatting ({@link Bystanders}): they must see no
 * error, lose nothing, and no message of theirs may take above a second.
 */
class FairSharesTest {

    /**
     * Rate limits twenty times the defaults, for users that send faster than the storage writer
     * may take: what holds them back is then their share of the writer too, not only their rate.
     * The burst is above everything the drainer sends, so it is never closed for it.
     */
    private static final String[] HIGH_RATE_LIMITS = {"router.frames-per-second=10000", "router.frame-burst=40000",
        "router.bytes-per-second=100000000", "router.byte-burst=100000000"};

    @TempDir
    Path dataDir;

    private ServerFixture fixture;
    private Bystanders bystanders;

    @AfterEach
    void stop() throws Exception {
        try {
            if (bystanders != null) {
                bystanders.check();
            }
        } finally {
            if (bystanders != null) {
                bystanders.close();
            }
            if (fixture != null) {
                fixture.close();
            }
        }
    }

    private void start(long bystanderIntervalMs, String... overrides) throws Exception {
        fixture = new ServerFixture(dataDir, overrides);
        bystanders = new Bystanders(fixture, bystanderIntervalMs).start();
    }

    // ---------------------------------------------------------------- (a) the writer's queue, shared

    @Test
    void shouldKeepRoomForOthersWhileOneUserFloodsSendsAndAnotherAcknowledgesABigDrainOneByOne() throws Exception {
        int inbox = 200_000;
        fillInbox(DeviceId.primary("bob"), "zed", inbox);
        List<String> overrides = new ArrayList<>(List.of("storage.options.sync=false",
            "router.inbox-max-messages=1000000"));
        overrides.addAll(List.of(HIGH_RATE_LIMITS));
        start(50, overrides.toArray(String[]::new));
        // Half a million frames through Netty: paranoid leak detection's stack trace per buffer would be
        // most of the test's work (and of its bystanders' delay); sampled detection still runs.
        ResourceLeakDetector.Level leakDetection = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.SIMPLE);
        // Each busy user has a client of its own, as it would on another machine, that keeps
        // counts rather than every frame (so the test's heap and collector stay out of the way).
        try (TransportClient bobs = tcpClient(); TransportClient mallorys = tcpClient()) {
            long started = System.nanoTime();
            // bob drains 200,000 entries and acknowledges each in a frame of its own.
            LoadClient bob = new LoadClient(bobs, "bob", true);
            // mallory sends as fast as the socket takes, bounded in count and time.
            LoadClient mallory = new LoadClient(mallorys, "mallory", false);
            long floodUntil = System.nanoTime() + SECONDS.toNanos(5);
            int flooded = 0;
            for (; flooded < 30_000 && System.nanoTime() < floodUntil; flooded++) {
                mallory.send("sink", "f-" + flooded);
            }
            int sentByMallory = flooded;
            // A device that waits for its answers still beats, as any device does when silent.
            await().atMost(60, SECONDS).until(() -> mallory.heartbeat() && mallory.answered() >= sentByMallory);
            long floodDoneMs = (System.nanoTime() - started) / 1_000_000;
            // The busy users are held back on their own connections, and only there.
            assertThat(mallory.errors.keySet()).isSubsetOf(Code.OVERLOADED, Code.RATE_LIMITED);
            assertThat(mallory.isOpen()).as("held back, not closed").isTrue();
            mallory.close();
            await().atMost(60, SECONDS).until(() -> bob.delivered() == inbox);
            System.out.printf("Flood: %d sends answered after %d ms, %d accepted, refused %s; drain of %d"
                    + " acknowledged one by one in %d ms, acknowledgements refused %s%n", sentByMallory, floodDoneMs,
                mallory.accepted.get(), mallory.errors, inbox, (System.nanoTime() - started) / 1_000_000, bob.errors);
            assertThat(bob.errors.keySet()).isSubsetOf(Code.OVERLOADED, Code.RATE_LIMITED);
            assertThat(bob.isOpen()).as("held back, not closed").isTrue();
            assertThat(bystanders.errors()).isEmpty();
            bob.close();
        } finally {
            ResourceLeakDetector.setLevel(leakDetection);
        }
    }

    /**
     * A busy user's device that counts what it gets instead of keeping it: single ticks, errors by
     * code, and distinct deliveries, each acknowledged in a frame of its own when {@code acks}.
     */
    private final class LoadClient implements ClientListener {
        final AtomicInteger accepted = new AtomicInteger();
        final Map<Code, AtomicInteger> errors = new ConcurrentHashMap<>();
        private final BitSet seen = new BitSet();
        private final AtomicInteger delivered = new AtomicInteger();
        private final boolean acks;
        private final CompletableFuture<Void> welcomed = new CompletableFuture<>();
        private final ClientConnection connection;

        LoadClient(TransportClient transport, String user, boolean acks) throws Exception {
            this.acks = acks;
            this.connection = transport.connect(fixture.tcp, this).get(30, SECONDS);
            connection.send(Frame.newBuilder().setHello(Hello.newBuilder().setUser(user)
                .setToken(fixture.token(user))).build());
            welcomed.get(30, SECONDS);
        }

        void send(String to, String clientId) {
            connection.send(Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId(clientId).setRecipient(to)
                .setPayload(ByteString.copyFromUtf8("flood"))).build());
        }

        /** Sends a heartbeat; true, so that a condition can beat while it waits. */
        boolean heartbeat() {
            connection.send(Frame.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build());
            return true;
        }

        int answered() {
            return accepted.get() + errors.values().stream().mapToInt(AtomicInteger::get).sum();
        }

        int delivered() {
            return delivered.get();
        }

        boolean isOpen() {
            return connection.isOpen();
        }

        void close() {
            connection.close();
        }

        @Override
        public void onFrame(Frame frame) {
            switch (frame.getBodyCase()) {
                case WELCOME -> welcomed.complete(null);
                case ACCEPTED -> accepted.incrementAndGet();
                case ERROR -> errors.computeIfAbsent(frame.getError().getCode(), c -> new AtomicInteger()).incrementAndGet();
                case DELIVER -> {
                    long id = frame.getDeliver().getServerMessageId();
                    // One I/O thread per connection: the set needs no lock.
                    if (!seen.get((int) id)) {
                        seen.set((int) id);
                        delivered.incrementAndGet();
                    }
                    if (acks) {
                        connection.send(Frame.newBuilder().setDeliveryAck(DeliveryAck.newBuilder()
                            .addServerMessageIds(id)).build());
                    }
                }
                default -> {
                }
            }
        }

        @Override
        public void onClose() {
        }
    }

    private static TransportClient tcpClient() {
        return TransportProviders.find("tcp").createClient(TransportSettings.of(0));
    }

    /** Writes {@code count} messages from {@code sender} into {@code owner}'s inbox, through the storage SPI, before the server starts. */
    private void fillInbox(DeviceId owner, String sender, int count) {
        try (StorageBackend storage = StorageProviders.find("rocksdb").open(new StorageConfig(dataDir,
            Map.of("sync", "false")))) {
            byte[] payload = "an old message".getBytes(StandardCharsets.UTF_8);
            for (int from = 1; from <= count; from += 10_000) {
                WriteBatch batch = new WriteBatch();
                for (int id = from; id < from + 10_000 && id <= count; id++) {
                    batch.append(owner, new StoredMessage(id, MessageKind.MESSAGE, DeviceId.primary(sender),
                        owner.user(), "old-" + id, 0, 1_000 + id, "text/plain", payload, null));
                }
                storage.messages().commit(batch);
            }
        }
    }

    // ---------------------------------------------------------------- (b) inbox quota

    @Test
    void shouldRefuseSendsToAFullInboxWithInboxFullAndLoseNothingAcceptedBefore() throws Exception {
        start(20, "router.inbox-max-messages=50");
        TestClient alice = fixture.user("alice").connect();
        List<String> ids = IntStream.range(0, 60).mapToObj(i -> "q-" + i).toList();
        ids.forEach(id -> alice.send("bob", id, id));
        await().atMost(30, SECONDS).until(() -> alice.accepted.size() + alice.errors.size() == 60);

        assertThat(alice.accepted).hasSize(50);
        List<Error> refused = new ArrayList<>(alice.errors);
        assertThat(refused).hasSize(10).allSatisfy(e -> {
            assertThat(e.getCode()).isEqualTo(Code.INBOX_FULL);
            assertThat(e.getFatal()).isFalse();
            assertThat(e.getText()).contains("bob/1").contains("router.inbox-max-messages = 50");
        });
        assertThat(refused).extracting(Error::getClientMessageId).containsExactlyElementsOf(ids.subList(50, 60));
        assertThat(alice.isOpen()).isTrue();

        // bob drains what was accepted, all of it; then the refused ones fit and are taken.
        TestClient bob = fixture.user("bob").connect();
        await().atMost(30, SECONDS).until(() -> bob.deliveredCount() == 50);
        assertThat(bob.deliveredSnapshot()).extracting(Deliver::getClientMessageId)
            .containsExactlyElementsOf(ids.subList(0, 50));
        await().atMost(30, SECONDS).until(() -> alice.receipts.size() == 50);
        alice.errors.clear();
        ids.subList(50, 60).forEach(id -> alice.send("bob", id, id));
        await().atMost(30, SECONDS).until(() -> bob.deliveredCount() == 60);
        assertThat(bob.deliveredSnapshot()).extracting(Deliver::getClientMessageId).containsExactlyElementsOf(ids);
        assertThat(alice.errors).isEmpty();
    }

    // ---------------------------------------------------------------- (c) rate limits

    @Test
    void shouldRefuseAboveTheRateSayingWhenToRetryTakeTheRetryAndCloseAClientThatGoesOn() throws Exception {
        // The bystanders send 10 frames a second each (sends and acknowledgements): within the limit.
        start(100, "router.frames-per-second=50", "router.frame-burst=100");
        TestClient mallory = fixture.user("mallory").connect();
        List<String> ids = IntStream.range(0, 300).mapToObj(i -> "r-" + i).toList();
        ids.forEach(id -> mallory.send("bob", id, id));
        await().atMost(30, SECONDS).until(() -> mallory.accepted.size() + mallory.errors.size() == ids.size());

        List<Error> refused = new ArrayList<>(mallory.errors);
        assertThat(mallory.accepted.size()).as("the burst, and what the rate refilled meanwhile").isBetween(100, 299);
        assertThat(refused).isNotEmpty().allSatisfy(e -> {
            assertThat(e.getCode()).isEqualTo(Code.RATE_LIMITED);
            assertThat(e.getFatal()).isFalse();
            assertThat(e.getRetryAfterMs()).isBetween(1L, 20L);
            assertThat(e.getText()).contains("router.frames-per-second = 50");
        });
        assertThat(mallory.isOpen()).isTrue();

        // A client that waits as told gets its sends taken.
        mallory.errors.clear();
        for (Error e : refused) {
            await().pollDelay(Duration.ofMillis(e.getRetryAfterMs())).atMost(30, SECONDS).until(() -> true);
            int before = mallory.accepted.size();
            mallory.send("bob", e.getClientMessageId(), e.getClientMessageId());
            await().atMost(30, SECONDS).until(() -> mallory.accepted.size() > before || !mallory.errors.isEmpty());
            if (!mallory.errors.isEmpty()) {
                // Refused again (the wait was a lower bound): wait as told once more.
                Error again = mallory.errors.poll();
                assertThat(again.getCode()).isEqualTo(Code.RATE_LIMITED);
                await().pollDelay(Duration.ofMillis(again.getRetryAfterMs() * 2)).atMost(30, SECONDS).until(() -> true);
                mallory.send("bob", e.getClientMessageId(), e.getClientMessageId());
                await().atMost(30, SECONDS).until(() -> mallory.accepted.size() > before);
            }
        }
        assertThat(mallory.acceptedFirstIds().keySet()).containsExactlyInAnyOrderElementsOf(ids);

        // One that goes on far beyond the limit is closed: ten times the burst refused.
        mallory.errors.clear();
        for (int i = 0; i < 3_000 && mallory.isOpen(); i++) {
            mallory.send("bob", "x-" + i, "more");
        }
        mallory.closedFuture().get(30, SECONDS);
        Error last = lastError(mallory);
        assertThat(last.getCode()).isEqualTo(Code.RATE_LIMITED);
        assertThat(last.getFatal()).isTrue();
        assertThat(last.getText()).contains("1000 frames were refused");

        // Its next connection starts with full buckets.
        TestClient again = fixture.user("mallory").connect();
        again.send("bob", "after", "after");
        await().atMost(30, SECONDS).until(() -> again.serverIdOf("after") > 0);
    }

    private static Error lastError(TestClient client) {
        Error last = null;
        for (Error e : client.errors) {
            last = e;
        }
        assertThat(last).as("an error before the close").isNotNull();
        return last;
    }

    // ---------------------------------------------------------------- (d) devices per user

    @Test
    void shouldRefuseADeviceBeyondTheLimitWithTooManyDevicesAndKeepTheUsersOthersWorking() throws Exception {
        start(20, "router.max-devices-per-user=3");
        TestClient phone = fixture.device("bob", "1").connect();
        TestClient laptop = fixture.device("bob", "laptop").connect();
        TestClient tablet = fixture.device("bob", "tablet").connect();

        // The storage writer, which registers devices, refuses a fourth: its connection is closed
        // and nothing it sent is stored.
        TestClient watch = fixture.device("bob", "watch").connectOnly();
        watch.sendHello(fixture.token("bob"));
        watch.send("alice", "from-watch", "never stored");
        Error refused = watch.nextError();
        assertThat(refused.getCode()).isEqualTo(Code.TOO_MANY_DEVICES);
        assertThat(refused.getFatal()).isTrue();
        assertThat(refused.getText()).contains("bob has 3 devices").contains("router.max-devices-per-user");
        watch.closedFuture().get(30, SECONDS);
        assertThat(watch.accepted).isEmpty();

        // bob's three devices keep working, and one of them may come back.
        TestClient alice = fixture.user("alice").connect();
        alice.send("bob", "hi", "hi");
        await().atMost(30, SECONDS).until(() ->
            phone.deliveredCount() == 1 && laptop.deliveredCount() == 1 && tablet.deliveredCount() == 1);
        laptop.disconnect();
        laptop.connect();
        laptop.send("alice", "from-laptop", "back");
        await().atMost(30, SECONDS).until(() -> alice.deliveredCount() == 1);
        assertThat(alice.deliveredSnapshot()).extracting(Deliver::getClientMessageId).containsExactly("from-laptop");
        assertThat(phone.deliveredCount()).as("the copy on bob's other devices").isEqualTo(2);
    }

    // ---------------------------------------------------------------- (e) ids per acknowledgement

    @Test
    void shouldRefuseAnAckAboveTheIdCapWithOneErrorAndAnswerAThousandBogusIdsWithOneErrorFrame() throws Exception {
        start(20);
        TestClient mallory = fixture.user("mallory").connect();

        mallory.raw(ackOf(5_000_000, 100_000));
        Error tooMany = mallory.nextError();
        assertThat(tooMany.getCode()).isEqualTo(Code.INVALID_ARGUMENT);
        assertThat(tooMany.getText()).contains("100000 server ids").contains("router.max-ids-per-ack = 1024");

        mallory.raw(ackOf(7_000_000, 1_000));
        // A send after the ack is answered after it: once it is accepted, every answer to the ack is in.
        mallory.send("mallory", "barrier", "barrier");
        await().atMost(30, SECONDS).until(() -> mallory.serverIdOf("barrier") > 0);
        assertThat(mallory.errors).as("one error frame for the thousand bogus ids").singleElement().satisfies(e -> {
            assertThat(e.getCode()).isEqualTo(Code.UNKNOWN_MESSAGE);
            assertThat(e.getServerMessageId()).isEqualTo(7_000_000);
            assertThat(e.getText()).startsWith("1000 server message ids (7000000, 7000001, 7000002, 7000003, 7000004, …)");
        });
        assertThat(mallory.isOpen()).isTrue();
    }

    private static Frame ackOf(long first, int count) {
        DeliveryAck.Builder ack = DeliveryAck.newBuilder();
        for (int i = 0; i < count; i++) {
            ack.addServerMessageIds(first + i);
        }
        return Frame.newBuilder().setDeliveryAck(ack).build();
    }
}
