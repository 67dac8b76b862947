package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
import java.time.Duration;
import java.time.Instant;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acceptance: every kind of bad input gets a clear error code, while another pair of users keeps
 * chatting and the server keeps running.
 */
class BadInputTest {

    @TempDir
    Path dataDir;

    private ServerFixture fixture;
    private TestClient dave;
    private TestClient erin;
    private final AtomicInteger bystanderMessages = new AtomicInteger();

    @BeforeEach
    void start() throws Exception {
        fixture = new ServerFixture(dataDir);
        dave = fixture.user("dave").connect();
        erin = fixture.user("erin").connect();
        bystandersStillChat();
    }

    @AfterEach
    void stop() throws Exception {
        bystandersStillChat();
        fixture.close();
    }

    /** The bystanders exchange a message both ways and get their ticks. */
    private void bystandersStillChat() {
        int n = bystanderMessages.incrementAndGet();
        dave.send("erin", "d-" + n, "ping " + n);
        erin.send("dave", "e-" + n, "pong " + n);
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> erin.deliveredCount() == n && dave.deliveredCount() == n);
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() ->
            dave.receiptsFor(dave.serverIdOf("d-" + n)).contains(Status.DELIVERED)
                && erin.receiptsFor(erin.serverIdOf("e-" + n)).contains(Status.DELIVERED));
        assertThat(dave.isOpen()).isTrue();
        assertThat(erin.isOpen()).isTrue();
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
        bystandersStillChat();
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
        bystandersStillChat();
    }

    @Test
    void shouldRefuseAnyFrameBeforeHello() throws Exception {
        TestClient mallory = fixture.user("mallory").connectOnly();
        mallory.send("bob", "x", "sneaky");
        Error error = mallory.nextError();
        assertThat(error.getCode()).isEqualTo(Code.NOT_AUTHENTICATED);
        assertThat(error.getText()).contains("hello");
        mallory.closedFuture().get(TestClient.TIMEOUT_SECONDS, SECONDS);
        bystandersStillChat();
    }

    @Test
    void shouldRefuseHelloWithForgedToken() throws Exception {
        String forged = new HmacTokenAuthenticator(new byte[32]).mint("mallory", Instant.now().plusSeconds(600).getEpochSecond());
        TestClient mallory = fixture.user("mallory").connectOnly();
        mallory.sendHello(forged);
        assertThat(mallory.nextError().getCode()).isEqualTo(Code.AUTH_FAILED);
        mallory.closedFuture().get(TestClient.TIMEOUT_SECONDS, SECONDS);

        // A valid token of another user does not open this one's account either.
        TestClient impostor = fixture.user("bob").connectOnly();
        impostor.sendHello(fixture.token("mallory"));
        assertThat(impostor.nextError().getCode()).isEqualTo(Code.AUTH_FAILED);
        bystandersStillChat();
    }

    @Test
    void shouldRefuseHelloWithExpiredToken() throws Exception {
        String expired = Main.mint(fixture.server.config(), "mallory", Duration.ofSeconds(-60));
        TestClient mallory = fixture.user("mallory").connectOnly();
        mallory.sendHello(expired);
        Error error = mallory.nextError();
        assertThat(error.getCode()).isEqualTo(Code.TOKEN_EXPIRED);
        assertThat(error.getText()).contains("expired");
        mallory.closedFuture().get(TestClient.TIMEOUT_SECONDS, SECONDS);
        bystandersStillChat();
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
        bystandersStillChat();
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
        bystandersStillChat();
    }

    @Test
    void shouldKeepAMessageMarkedReadBeforeItWasSentAndTickNothingForIt() throws Exception {
        TestClient alice = fixture.user("alice").connect();
        alice.send("bob", "early", "not seen yet");
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.serverIdOf("early") > 0);
        long id = alice.serverIdOf("early");

        // bob resumes after the message, so this connection is not sent it; he marks it read and
        // acknowledges it anyway, with the id from alice's single tick.
        TestClient bob = fixture.user("bob");
        bob.autoAck(false);
        bob.connect(id);
        bob.markRead(id);
        bob.ack(id);
        for (int i = 0; i < 2; i++) {
            Error error = bob.nextError();
            assertThat(error.getCode()).isEqualTo(Code.UNKNOWN_MESSAGE);
            assertThat(error.getServerMessageId()).isEqualTo(id);
            assertThat(error.getFatal()).isFalse();
        }
        assertThat(bob.deliveredCount()).isZero();
        barrier(bob, alice, "barrier-1", 1);
        assertThat(alice.receiptsFor(id)).as("no tick for a message bob does not have").isEmpty();

        // From 0, bob gets it after all; still no tick until he acknowledges or reads it.
        bob.disconnect();
        bob.connect();
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> bob.deliveredCount() == 1);
        assertThat(bob.deliveredSnapshot().get(0).getServerMessageId()).isEqualTo(id);
        assertThat(bob.deliveredSnapshot().get(0).getPayload().toStringUtf8()).isEqualTo("not seen yet");
        barrier(bob, alice, "barrier-2", 2);
        assertThat(alice.receiptsFor(id)).isEmpty();

        bob.markRead(id);
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.receiptsFor(id).size() == 2);
        assertThat(alice.receiptsFor(id)).containsExactly(Status.DELIVERED, Status.READ);
        bystandersStillChat();
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
        bystandersStillChat();
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
