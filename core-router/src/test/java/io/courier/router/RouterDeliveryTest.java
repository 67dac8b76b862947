package io.courier.router;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.courier.router.auth.InsecureAuthenticator;
import io.courier.storage.DeviceId;
import io.courier.storage.InboxEntry;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.memory.InMemoryStorageProvider;
import io.courier.transport.proto.Accepted;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.DeliveryAck;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.PresenceQuery;
import io.courier.transport.proto.ReadReceipt;
import io.courier.transport.proto.Receipt;
import io.courier.transport.proto.Send;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The delivery contract, router and in-memory store only: in-process connections, each with an
 * I/O thread of its own, the real storage writer, an injected clock. Awaitility waits for the
 * writer; nothing sleeps.
 */
class RouterDeliveryTest {

    private static final DeviceId ALICE = DeviceId.primary("alice");
    private static final DeviceId BOB = DeviceId.primary("bob");

    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final RouterConfig config = RouterConfig.builder().mailboxCapacity(16).drainPageSize(8)
        .writer(writerMode()).build();
    private final List<RecordingConnection> connections = new ArrayList<>();
    private StorageBackend storage;
    private Router router;

    @BeforeEach
    void start() {
        storage = memory();
        router = new Router(config, storage, new InsecureAuthenticator(), new SimpleMeterRegistry(), clock).start();
    }

    @AfterEach
    void stop() throws Exception {
        for (RecordingConnection connection : connections) {
            connection.shutdown();
        }
        router.close();
        storage.close();
    }

    /**
     * Where commits run: {@code auto} is inline on the memory backend (the connections' threads run
     * batches); {@link RouterDeliveryOnWriterThreadTest} runs every case on the writer's thread.
     */
    RouterConfig.WriterMode writerMode() {
        return RouterConfig.WriterMode.AUTO;
    }

    private static StorageBackend memory() {
        return new InMemoryStorageProvider().open(new StorageConfig(Path.of("unused"), Map.of()));
    }

    // ---------------------------------------------------------------- single tick

    @Test
    void shouldAnswerAcceptedOnlyOnceTheBatchIsCommitted() throws Exception {
        GatedStorage gated = new GatedStorage(memory());
        Router gatedRouter = new Router(config, gated, new InsecureAuthenticator(), new SimpleMeterRegistry(), clock)
            .start();
        try {
            RecordingConnection alice = connect(gatedRouter, "alice", "1", 0);
            alice.receive(send("bob", "m-1"));
            await().atMost(10, SECONDS).until(gated::commitWaiting);
            alice.sync();
            assertThat(accepted(alice)).as("no single tick while the commit has not returned").isEmpty();

            gated.open();
            await().atMost(10, SECONDS).until(() -> accepted(alice).size() == 1);
            assertThat(gated.messages().pendingCount(BOB)).isEqualTo(1);
            assertThat(accepted(alice).get(0).getAcceptedAtMs()).isEqualTo(clock.millis());
        } finally {
            gated.open();
            gatedRouter.close();
            gated.close();
        }
    }

    @Test
    void shouldAnswerARepeatedSendWithTheSameAcceptedAndStoreItOnce() throws Exception {
        RecordingConnection alice = connect("alice");
        alice.receive(send("bob", "dup"));
        alice.receive(send("bob", "dup"));
        alice.receive(send("bob", "after"));
        await().atMost(10, SECONDS).until(() -> accepted(alice).size() == 3);

        List<Accepted> ticks = accepted(alice);
        assertThat(ticks.get(1)).isEqualTo(ticks.get(0));
        assertThat(ticks.get(2).getServerMessageId()).isGreaterThan(ticks.get(0).getServerMessageId());
        assertThat(storage.messages().pendingCount(BOB)).isEqualTo(2);

        RecordingConnection bob = connect("bob");
        await().atMost(10, SECONDS).until(() -> deliveries(bob).size() == 2);
        assertThat(deliveries(bob)).extracting(Deliver::getClientMessageId).containsExactly("dup", "after");
    }

    // ---------------------------------------------------------------- double and blue ticks

    @Test
    void shouldRouteADeliveredReceiptWhenTheRecipientAcknowledges() throws Exception {
        RecordingConnection alice = connect("alice");
        RecordingConnection bob = connect("bob");
        long id = acceptedId(alice, "bob", "m-1");
        await().atMost(10, SECONDS).until(() -> deliveries(bob).size() == 1);
        clock.advance(Duration.ofSeconds(3));

        bob.receive(ack(id));
        await().atMost(10, SECONDS).until(() -> receipts(alice).size() == 1);
        Receipt receipt = receipts(alice).get(0);
        assertThat(receipt.getStatus()).isEqualTo(Receipt.Status.DELIVERED);
        assertThat(receipt.getMessageServerId()).isEqualTo(id);
        assertThat(receipt.getMessageClientId()).isEqualTo("m-1");
        assertThat(receipt.getByUser()).isEqualTo("bob");
        assertThat(receipt.getAtMs()).isEqualTo(clock.millis());
        assertThat(storage.messages().entry(BOB, id)).map(InboxEntry::state).contains(InboxEntry.State.DELIVERED);
    }

    @Test
    void shouldRouteAReadReceiptAfterTheDeliveredOne() throws Exception {
        RecordingConnection alice = connect("alice");
        RecordingConnection bob = connect("bob");
        long id = acceptedId(alice, "bob", "m-1");
        await().atMost(10, SECONDS).until(() -> deliveries(bob).size() == 1);
        bob.receive(ack(id));
        await().atMost(10, SECONDS).until(() -> receipts(alice).size() == 1);

        bob.receive(read(id));
        await().atMost(10, SECONDS).until(() -> receipts(alice).size() == 2);
        assertThat(receipts(alice)).extracting(Receipt::getStatus).containsExactly(Receipt.Status.DELIVERED,
            Receipt.Status.READ);
        assertThat(storage.messages().entry(BOB, id)).as("read entries leave the inbox").isEmpty();
    }

    @Test
    void shouldRouteDeliveredBeforeReadWhenAMessageIsReadWithoutAnAck() throws Exception {
        RecordingConnection alice = connect("alice");
        RecordingConnection bob = connect("bob");
        long id = acceptedId(alice, "bob", "m-1");
        await().atMost(10, SECONDS).until(() -> deliveries(bob).size() == 1);

        bob.receive(read(id));
        await().atMost(10, SECONDS).until(() -> receipts(alice).size() == 2);
        assertThat(receipts(alice)).extracting(Receipt::getStatus).containsExactly(Receipt.Status.DELIVERED,
            Receipt.Status.READ);
        assertThat(receipts(alice)).extracting(Receipt::getMessageServerId).containsOnly(id);
    }

    @Test
    void shouldKeepReceiptsForAnOfflineSenderInItsInboxUntilItComesBack() throws Exception {
        RecordingConnection alice = connect("alice");
        long id = acceptedId(alice, "bob", "m-1");
        disconnect(alice);

        RecordingConnection bob = connect("bob");
        await().atMost(10, SECONDS).until(() -> deliveries(bob).size() == 1);
        bob.receive(read(id));
        await().atMost(10, SECONDS).until(() -> storage.messages().pendingCount(ALICE) == 2);

        RecordingConnection aliceAgain = connect("alice");
        await().atMost(10, SECONDS).until(() -> receipts(aliceAgain).size() == 2);
        assertThat(receipts(aliceAgain)).extracting(Receipt::getStatus).containsExactly(Receipt.Status.DELIVERED,
            Receipt.Status.READ);
        assertThat(receipts(aliceAgain)).extracting(Receipt::getMessageServerId).containsOnly(id);

        aliceAgain.receive(ack(receipts(aliceAgain).stream().mapToLong(Receipt::getServerMessageId).toArray()));
        await().atMost(10, SECONDS).until(() -> storage.messages().pendingCount(ALICE) == 0);
    }

    @Test
    void shouldCopyASendToTheSendersOtherDevicesAndTickEveryOne() throws Exception {
        RecordingConnection phone = connect("alice");
        RecordingConnection laptop = connect(router, "alice", "laptop", 0);
        RecordingConnection bob = connect("bob");

        long id = acceptedId(phone, "bob", "x-1");
        await().atMost(10, SECONDS).until(() -> deliveries(bob).size() == 1 && deliveries(laptop).size() == 1);
        Deliver copy = deliveries(laptop).get(0);
        assertThat(copy.getServerMessageId()).isEqualTo(id);
        assertThat(copy.getRecipient()).isEqualTo("bob");
        assertThat(copy.getSenderDevice()).isEqualTo("1");

        bob.receive(ack(id));
        await().atMost(10, SECONDS).until(() -> receipts(phone).size() == 1 && receipts(laptop).size() == 1);
        laptop.sync();
        phone.sync();
        assertThat(deliveries(phone)).as("no copy for the device that sent it").isEmpty();
    }

    // ---------------------------------------------------------------- order

    @Test
    void shouldKeepPerRecipientOrderAcrossOfflineDrainAndLiveDelivery() throws Exception {
        RecordingConnection alice = connect("alice");
        IntStream.range(0, 50).forEach(i -> alice.receive(send("bob", "m" + i)));
        await().atMost(10, SECONDS).until(() -> accepted(alice).size() == 50);

        // bob drains 50 in pages of 8 while 50 more are sent to him live.
        RecordingConnection bob = connect("bob");
        IntStream.range(50, 100).forEach(i -> alice.receive(send("bob", "m" + i)));
        await().atMost(10, SECONDS).until(() -> deliveries(bob).size() >= 100);

        assertThat(deliveries(bob)).extracting(Deliver::getClientMessageId)
            .containsExactlyElementsOf(IntStream.range(0, 100).mapToObj(i -> "m" + i).toList());
    }

    // ---------------------------------------------------------------- acks and reads that take nothing

    @Test
    void shouldAnswerAckOrReadOfSomeoneElsesIdWithUnknownMessageAndChangeNothing() throws Exception {
        RecordingConnection alice = connect("alice");
        RecordingConnection carol = connect("carol");
        long id = acceptedId(alice, "bob", "secret");

        carol.receive(ack(id));
        carol.receive(read(id));
        await().atMost(10, SECONDS).until(() -> errors(carol).size() == 2);
        assertThat(errors(carol)).allSatisfy(e -> {
            assertThat(e.getCode()).isEqualTo(Error.Code.UNKNOWN_MESSAGE);
            assertThat(e.getServerMessageId()).isEqualTo(id);
            assertThat(e.getFatal()).isFalse();
        });
        // The errors follow the commit their batch would have made: no receipt was stored.
        assertThat(storage.messages().pendingCount(ALICE)).isZero();
        assertThat(storage.messages().entry(BOB, id)).map(InboxEntry::state).contains(InboxEntry.State.PENDING);

        RecordingConnection bob = connect("bob");
        await().atMost(10, SECONDS).until(() -> deliveries(bob).size() == 1);
        assertThat(deliveries(bob).get(0).getServerMessageId()).isEqualTo(id);
        assertThat(carol.isOpen()).isTrue();
    }

    @Test
    void shouldKeepAMessageReadOrAcknowledgedBeforeItWasSentAndTickNothingForIt() throws Exception {
        RecordingConnection alice = connect("alice");
        RecordingConnection bob = connect("bob");
        bob.setWritable(false);
        long id = acceptedId(alice, "bob", "early");

        // bob's connection holds the message back, but bob has its id (from alice, say).
        bob.receive(read(id));
        bob.receive(ack(id));
        await().atMost(10, SECONDS).until(() -> errors(bob).size() == 2);
        assertThat(errors(bob)).extracting(Error::getCode).containsOnly(Error.Code.UNKNOWN_MESSAGE);
        assertThat(errors(bob)).extracting(Error::getServerMessageId).containsOnly(id);
        assertThat(deliveries(bob)).isEmpty();
        assertThat(storage.messages().entry(BOB, id)).map(InboxEntry::state).contains(InboxEntry.State.PENDING);
        assertThat(storage.messages().pendingCount(ALICE)).as("no tick for what bob does not have").isZero();

        bob.setWritable(true);
        await().atMost(10, SECONDS).until(() -> deliveries(bob).size() == 1);
        assertThat(deliveries(bob).get(0).getServerMessageId()).isEqualTo(id);

        bob.receive(read(id));
        await().atMost(10, SECONDS).until(() -> receipts(alice).size() == 2);
        assertThat(receipts(alice)).extracting(Receipt::getStatus).containsExactly(Receipt.Status.DELIVERED,
            Receipt.Status.READ);
    }

    @Test
    void shouldTrustTheResumePointAsTheDevicesClaimToHoldAnEntry() throws Exception {
        RecordingConnection alice = connect("alice");
        long id = acceptedId(alice, "bob", "early");

        // bob stored the message on a connection that died before his ack left: he resumes past it
        // and acknowledges it now, and the double tick follows.
        RecordingConnection bob = connect(router, "bob", "1", id);
        bob.receive(ack(id));
        await().atMost(10, SECONDS).until(() -> receipts(alice).size() == 1);
        assertThat(receipts(alice).get(0).getStatus()).isEqualTo(Receipt.Status.DELIVERED);
        assertThat(errors(bob)).isEmpty();
        assertThat(deliveries(bob)).as("not sent again past the resume point").isEmpty();
    }

    // ---------------------------------------------------------------- bad input

    @Test
    void shouldQuoteAtMostSixtyFourCharactersOfClientInputInErrorTexts() throws Exception {
        RecordingConnection alice = connect("alice");
        String huge = "b".repeat(10_000);
        alice.receive(send(huge, "r-1"));
        alice.receive(send("bob", "c".repeat(5_000)));
        alice.receive(Frame.newBuilder().setRequestId(9)
            .setPresenceQuery(PresenceQuery.newBuilder().setUser(huge)).build());
        await().atMost(10, SECONDS).until(() -> errors(alice).size() == 3);

        Error recipient = errors(alice).get(0);
        assertThat(recipient.getCode()).isEqualTo(Error.Code.INVALID_RECIPIENT);
        assertThat(recipient.getClientMessageId()).isEqualTo("r-1");
        assertThat(recipient.getText()).contains("'" + "b".repeat(64) + "… (10000 chars)'").hasSizeLessThan(200);
        Error clientId = errors(alice).get(1);
        assertThat(clientId.getCode()).isEqualTo(Error.Code.INVALID_ARGUMENT);
        assertThat(clientId.getText()).contains("5000").hasSizeLessThan(200);
        assertThat(clientId.getClientMessageId()).as("an over-long id is not echoed").isEmpty();
        Error presence = errors(alice).get(2);
        assertThat(presence.getRequestId()).isEqualTo(9);
        assertThat(presence.getText()).contains("… (10000 chars)").hasSizeLessThan(200);

        RecordingConnection mallory = open(router);
        mallory.receive(Frame.newBuilder().setHello(Hello.newBuilder().setUser(huge).setDevice("d".repeat(300))).build());
        await().atMost(10, SECONDS).until(() -> errors(mallory).size() == 1);
        Error hello = errors(mallory).get(0);
        assertThat(hello.getFatal()).isTrue();
        assertThat(hello.getText()).contains("… (10000 chars)").contains("… (300 chars)").hasSizeLessThan(300);
    }

    // ---------------------------------------------------------------- the sweeper

    @Test
    void shouldCloseConnectionsWithoutHelloAndSilentSessionsAsTheClockPasses() throws Exception {
        RecordingConnection silent = open(router);
        RecordingConnection alice = connect("alice");
        silent.sync();

        clock.advance(Duration.ofMillis(config.helloTimeoutMs() + 1));
        router.sweep();
        await().atMost(10, SECONDS).until(() -> !silent.isOpen());
        assertThat(errors(silent)).extracting(Error::getCode).containsExactly(Error.Code.NOT_AUTHENTICATED);
        assertThat(alice.isOpen()).as("below the idle limit").isTrue();

        clock.advance(Duration.ofMillis(router.idleLimitMs() - config.helloTimeoutMs()));
        router.sweep();
        await().atMost(10, SECONDS).until(() -> !alice.isOpen());
        assertThat(errors(alice)).extracting(Error::getCode).containsExactly(Error.Code.IDLE_TIMEOUT);
    }

    // ---------------------------------------------------------------- helpers

    private RecordingConnection open(Router to) {
        RecordingConnection connection = new RecordingConnection(to);
        connections.add(connection);
        return connection;
    }

    private RecordingConnection connect(String user) {
        return connect(router, user, "1", 0);
    }

    private RecordingConnection connect(Router to, String user, String device, long resumeAfter) {
        RecordingConnection connection = open(to);
        connection.receive(Frame.newBuilder().setHello(Hello.newBuilder().setUser(user).setDevice(device)
            .setResumeAfterServerId(resumeAfter)).build());
        await().atMost(10, SECONDS).until(() -> connection.written.stream().anyMatch(Frame::hasWelcome));
        return connection;
    }

    private void disconnect(RecordingConnection connection) throws InterruptedException {
        connections.remove(connection);
        connection.shutdown(); // returns once the router has handled the close
    }

    /** Sends from {@code from} and waits for the single tick; returns the server id. */
    private static long acceptedId(RecordingConnection from, String to, String clientId) {
        int before = accepted(from).size();
        from.receive(send(to, clientId));
        await().atMost(10, SECONDS).until(() -> accepted(from).size() == before + 1);
        return accepted(from).get(before).getServerMessageId();
    }

    private static Frame send(String to, String clientId) {
        return Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId(clientId).setRecipient(to)
            .setPayload(ByteString.copyFromUtf8("text of " + clientId.length()))).build();
    }

    private static Frame ack(long... ids) {
        DeliveryAck.Builder ack = DeliveryAck.newBuilder();
        for (long id : ids) {
            ack.addServerMessageIds(id);
        }
        return Frame.newBuilder().setDeliveryAck(ack).build();
    }

    private static Frame read(long... ids) {
        ReadReceipt.Builder read = ReadReceipt.newBuilder();
        for (long id : ids) {
            read.addServerMessageIds(id);
        }
        return Frame.newBuilder().setReadReceipt(read).build();
    }

    private static List<Accepted> accepted(RecordingConnection c) {
        return c.written.stream().filter(Frame::hasAccepted).map(Frame::getAccepted).toList();
    }

    private static List<Deliver> deliveries(RecordingConnection c) {
        return c.written.stream().filter(Frame::hasDeliver).map(Frame::getDeliver).toList();
    }

    private static List<Receipt> receipts(RecordingConnection c) {
        return c.written.stream().filter(Frame::hasReceipt).map(Frame::getReceipt).toList();
    }

    private static List<Error> errors(RecordingConnection c) {
        return c.written.stream().filter(Frame::hasError).map(Frame::getError).toList();
    }
}
