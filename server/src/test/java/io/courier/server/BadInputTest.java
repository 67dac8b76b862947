package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.router.auth.HmacKeyring;
import io.courier.router.auth.HmacTokenAuthenticator;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Error.Code;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Receipt.Status;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acceptance: every kind of bad input gets a clear error code, while a bystander pair keeps
 * chatting throughout (each message timed, none may take above a second) and the server keeps running.
 */
class BadInputTest {

    @TempDir
    Path dataDir;

    private ServerFixture fixture;
    private Bystanders bystanders;

    @BeforeEach
    void start() throws Exception {
        fixture = new ServerFixture(dataDir);
        bystanders = new Bystanders(fixture, 50).start();
    }

    /** The pair chatted throughout the test: no error, nothing lost, no message above a second. */
    @AfterEach
    void stop() throws Exception {
        try {
            bystanders.check();
        } finally {
            bystanders.close();
            fixture.close();
        }
    }

    @Test
    void shouldAnswerRandomBytesWithAnErrorAndClose() throws Exception {
        byte[] garbage = new byte[4096];
        new Random(42).nextBytes(garbage);
        try (Socket socket = rawSocket()) {
            socket.getOutputStream().write(garbage);
            socket.getOutputStream().flush();
            Error error = readError(socket.getInputStream());
            assertThat(error.getCode()).isIn(Code.MALFORMED_FRAME, Code.FRAME_TOO_LARGE);
            assertThat(error.getFatal()).isTrue();
            assertThat(socket.getInputStream().read()).as("closed after the error").isEqualTo(-1);
        }
    }

    @Test
    void shouldRefuseLengthPrefixAboveTheMaximumBeforeReadingIt() throws Exception {
        try (Socket socket = rawSocket()) {
            OutputStream out = socket.getOutputStream();
            writeVarint(out, fixture.server.config().maxFrameBytes() + 1);
            out.flush();
            Error error = readError(socket.getInputStream());
            assertThat(error.getCode()).isEqualTo(Code.FRAME_TOO_LARGE);
            assertThat(socket.getInputStream().read()).isEqualTo(-1);
        }
    }

    @Test
    void shouldRefuseAnyFrameBeforeHello() throws Exception {
        TestClient mallory = fixture.user("mallory").connectOnly();
        mallory.send("bob", "x", "sneaky");
        Error error = mallory.nextError();
        assertThat(error.getCode()).isEqualTo(Code.NOT_AUTHENTICATED);
        assertThat(error.getText()).contains("hello");
        mallory.closedFuture().get(TestClient.TIMEOUT_SECONDS, SECONDS);
    }

    @Test
    void shouldRefuseHelloWithForgedToken() throws Exception {
        long now = System.currentTimeMillis();
        HmacKeyring elsewhere = HmacKeyring.prepare(fixture.dataDir().resolveSibling("another-server-keys"), null).keys();
        String forged = HmacTokenAuthenticator.mint(elsewhere, "mallory", "*", now, now + 600_000);
        TestClient mallory = fixture.user("mallory").connectOnly();
        mallory.sendHello(forged);
        assertThat(mallory.nextError().getCode()).isEqualTo(Code.AUTH_FAILED);
        mallory.closedFuture().get(TestClient.TIMEOUT_SECONDS, SECONDS);

        // A valid token of another user does not open this one's account either.
        TestClient impostor = fixture.user("bob").connectOnly();
        impostor.sendHello(fixture.token("mallory"));
        assertThat(impostor.nextError().getCode()).isEqualTo(Code.AUTH_FAILED);
    }

    @Test
    void shouldRefuseHelloWithExpiredToken() throws Exception {
        long now = System.currentTimeMillis();
        String expired = fixture.token("mallory", "*", now - 120_000, now - 60_000);
        TestClient mallory = fixture.user("mallory").connectOnly();
        mallory.sendHello(expired);
        Error error = mallory.nextError();
        assertThat(error.getCode()).isEqualTo(Code.TOKEN_EXPIRED);
        assertThat(error.getText()).contains("expired");
        mallory.closedFuture().get(TestClient.TIMEOUT_SECONDS, SECONDS);
    }

    @Test
    void shouldRefuseSendToEmptyOrMalformedRecipientAndKeepTheConnection() throws Exception {
        TestClient alice = fixture.user("alice").connect();
        alice.send("", "r-1", "to nobody");
        Error empty = alice.nextError();
        assertThat(empty.getCode()).isEqualTo(Code.INVALID_RECIPIENT);
        assertThat(empty.getClientMessageId()).isEqualTo("r-1");
        alice.send("bob/../../etc", "r-2", "to a path");
        assertThat(alice.nextError().getCode()).isEqualTo(Code.INVALID_RECIPIENT);
        alice.send("b".repeat(65), "r-3", "too long");
        assertThat(alice.nextError().getCode()).isEqualTo(Code.INVALID_RECIPIENT);
        assertThat(alice.accepted).isEmpty();
        // Not fatal: the same connection still sends.
        alice.send("frank", "r-4", "fine");
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.serverIdOf("r-4") > 0);
    }

    @Test
    void shouldChangeNothingWhenAckingOrReadingSomeoneElsesMessage() throws Exception {
        TestClient alice = fixture.user("alice").connect();
        TestClient carol = fixture.user("carol").connect();
        alice.send("bob", "secret", "for bob only");
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.serverIdOf("secret") > 0);
        long id = alice.serverIdOf("secret");

        carol.ack(id);
        Error ackError = carol.nextError();
        assertThat(ackError.getCode()).isEqualTo(Code.UNKNOWN_MESSAGE);
        assertThat(ackError.getServerMessageId()).isEqualTo(id);
        carol.markRead(id);
        assertThat(carol.nextError().getCode()).isEqualTo(Code.UNKNOWN_MESSAGE);

        // Bob still gets it, and alice's only ticks are bob's.
        TestClient bob = fixture.user("bob").connect();
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> bob.deliveredCount() == 1);
        assertThat(bob.deliveredSnapshot().get(0).getServerMessageId()).isEqualTo(id);
        bob.markRead(id);
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.receiptsFor(id).size() == 2);
        assertThat(alice.receiptsFor(id)).containsExactly(Status.DELIVERED, Status.READ);
        assertThat(carol.deliveredCount()).isZero();
    }

    @Test
    void shouldKeepAMessageMarkedReadBeforeItWasSentAndTickNothingForIt() throws Exception {
        TestClient alice = fixture.user("alice").connect();
        alice.send("bob", "early", "not seen yet");
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.serverIdOf("early") > 0);
        long id = alice.serverIdOf("early");

        try (Socket bob = rawSocket()) {
            // Hello, then a read receipt and an ack for the message with the id from alice's single
            // tick, in one write: the server handles all three before its inbox drain can have
            // written the message to this connection, so bob reads what he was never sent.
            java.io.ByteArrayOutputStream burst = new java.io.ByteArrayOutputStream();
            Frame.newBuilder().setHello(Hello.newBuilder().setUser("bob").setToken(fixture.token("bob"))).build()
                .writeDelimitedTo(burst);
            Frame.newBuilder().setReadReceipt(io.courier.transport.proto.ReadReceipt.newBuilder()
                .addServerMessageIds(id)).build().writeDelimitedTo(burst);
            Frame.newBuilder().setDeliveryAck(io.courier.transport.proto.DeliveryAck.newBuilder()
                .addServerMessageIds(id)).build().writeDelimitedTo(burst);
            bob.getOutputStream().write(burst.toByteArray());
            bob.getOutputStream().flush();
            DataInputStream in = new DataInputStream(bob.getInputStream());
            assertThat(Frame.parseDelimitedFrom(in).hasWelcome()).isTrue();
            java.util.List<Frame> next = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) {
                next.add(Frame.parseDelimitedFrom(in));
            }
            // The two refusals (from the writer) and the delivery (from the drain) race each other.
            assertThat(next).filteredOn(Frame::hasError).hasSize(2).allSatisfy(f -> {
                assertThat(f.getError().getCode()).isEqualTo(Code.UNKNOWN_MESSAGE);
                assertThat(f.getError().getServerMessageId()).isEqualTo(id);
                assertThat(f.getError().getFatal()).isFalse();
            });
            assertThat(next).filteredOn(Frame::hasDeliver).singleElement().satisfies(f -> {
                assertThat(f.getDeliver().getServerMessageId()).isEqualTo(id);
                assertThat(f.getDeliver().getPayload().toStringUtf8()).isEqualTo("not seen yet");
            });

            // A send from bob after his read and ack reaches alice after any receipt they caused.
            Frame.newBuilder().setSend(io.courier.transport.proto.Send.newBuilder().setClientMessageId("barrier")
                .setRecipient("alice").setPayload(com.google.protobuf.ByteString.copyFromUtf8("barrier"))).build()
                .writeDelimitedTo(bob.getOutputStream());
            await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.deliveredCount() == 1);
            assertThat(alice.receiptsFor(id)).as("no tick for a message bob did not have").isEmpty();

            // Now that bob has it, his read receipt counts: read implies delivered.
            Frame.newBuilder().setReadReceipt(io.courier.transport.proto.ReadReceipt.newBuilder()
                .addServerMessageIds(id)).build().writeDelimitedTo(bob.getOutputStream());
            await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.receiptsFor(id).size() == 2);
            assertThat(alice.receiptsFor(id)).containsExactly(Status.DELIVERED, Status.READ);
        }
    }

    /**
     * {@code from} sends {@code to} a message and waits until it arrives: whatever the server
     * routed to {@code to} before it has arrived too, since a device gets its entries in order.
     */
    private static void barrier(TestClient from, TestClient to, String clientId, int deliveredAfter) {
        from.send(to.user, clientId, "barrier");
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> to.deliveredCount() == deliveredAfter);
        assertThat(to.deliveredSnapshot().get(deliveredAfter - 1).getClientMessageId()).isEqualTo(clientId);
    }

    @Test
    void shouldRefuseSecondHelloAndFrameWithoutBody() throws Exception {
        TestClient alice = fixture.user("alice").connect();
        alice.raw(Frame.newBuilder().setHello(Hello.newBuilder().setUser("alice").setToken("x")).build());
        assertThat(alice.nextError().getCode()).isEqualTo(Code.PROTOCOL_VIOLATION);
        alice.closedFuture().get(TestClient.TIMEOUT_SECONDS, SECONDS);

        TestClient again = fixture.user("alice").connect();
        again.raw(Frame.newBuilder().setRequestId(7).build());
        Error error = again.nextError();
        assertThat(error.getCode()).isEqualTo(Code.MALFORMED_FRAME);
    }

    private Socket rawSocket() throws IOException {
        Socket socket = new Socket(fixture.tcp.getHost(), fixture.tcp.getPort());
        socket.setSoTimeout((int) SECONDS.toMillis(TestClient.TIMEOUT_SECONDS));
        return socket;
    }

    private static Error readError(InputStream in) throws IOException {
        Frame frame = Frame.parseDelimitedFrom(new DataInputStream(in));
        assertThat(frame).as("a frame before the close").isNotNull();
        assertThat(frame.hasError()).as("an error frame: %s", frame).isTrue();
        return frame.getError();
    }

    private static void writeVarint(OutputStream out, int value) throws IOException {
        while ((value & ~0x7F) != 0) {
            out.write((value & 0x7F) | 0x80);
            value >>>= 7;
        }
        out.write(value);
    }
}
