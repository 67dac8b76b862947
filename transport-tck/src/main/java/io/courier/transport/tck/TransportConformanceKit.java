package io.courier.transport.tck;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.courier.transport.Connection;
import io.courier.transport.IoThreadErrors;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportException;
import io.courier.transport.TransportProvider;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Send;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The transport conformance kit: what every Courier transport must do, whatever its wire. A
 * transport certifies itself by extending this class in its tests, unchanged:
 *
 * <pre>{@code
 * class TcpTransportConformanceTest extends TransportConformanceKit {
 *     @Override
 *     protected TransportProvider provider() {
 *         return new TcpTransportProvider();
 *     }
 * }
 * }</pre>
 *
 * <p>Depend on {@code io.courier:courier-transport-tck} in test scope; it brings JUnit Jupiter,
 * AssertJ and Awaitility.
 *
 * <p>Each test starts its own server from {@link #serverSettings()} (loopback, a free port, a
 * {@link #MAX_FRAME_BYTES} limit) with an {@link EchoRouter} behind it, opens connections through
 * the transport's own client, and closes both afterwards. After every test the kit also checks
 * that the transport kept the {@link io.courier.transport.ConnectionHandler} contract (callbacks on
 * the connection's executor, {@code onOpen} first, {@code onClose} exactly once and last).
 * Nothing here knows how the transport frames bytes: garbage and oversized frames travel through
 * {@link io.courier.transport.ClientConnection#sendUnchecked}.
 *
 * <p>The kit never sleeps and asserts no timings; a wait fails the test only after 30 seconds.
 */
public abstract class TransportConformanceKit {

    /** The frame limit the default settings use: small, so the limit tests are cheap. */
    protected static final int MAX_FRAME_BYTES = 64 * 1024;

    private EchoRouter router;
    private TransportServer server;
    private TransportClient client;
    private URI address;
    private int maxFrameBytes;

    /** The transport under test; a new provider per test is fine. */
    protected abstract TransportProvider provider();

    /**
     * Settings for the server: by default loopback, port 0 (a free port) and a limit of
     * {@link #MAX_FRAME_BYTES}. Override to add transport options; keep port 0 so tests can run in
     * parallel, and a limit of at least 16 KiB.
     */
    protected TransportSettings serverSettings() {
        return TransportSettings.of(0).withMaxFrameBytes(MAX_FRAME_BYTES);
    }

    /**
     * Settings for the client: by default {@link #serverSettings()} (a client ignores host and
     * port), so both sides share options and limit. The client's limit must not be below the
     * server's, or the largest frame would be refused by the client.
     */
    protected TransportSettings clientSettings() {
        return serverSettings();
    }

    @BeforeEach
    final void startServerAndClient() {
        TransportSettings settings = serverSettings();
        maxFrameBytes = settings.maxFrameBytes();
        router = new EchoRouter();
        server = provider().createServer(settings, router);
        server.start();
        address = server.address();
        client = provider().createClient(clientSettings());
    }

    @AfterEach
    final void stopAndCheckTheHandlerContract() {
        try {
            if (client != null) {
                client.close();
            }
        } finally {
            if (server != null) {
                server.close();
            }
        }
        // close() promised onClose for every connection; allow callbacks still in flight to land.
        await().atMost(TckClient.TIMEOUT_SECONDS, SECONDS).untilAsserted(() ->
            assertThat(router.closed()).as("connections closed after server.close()")
                .containsExactlyInAnyOrderElementsOf(router.opened()));
        assertThat(router.violations()).as("breaches of the ConnectionHandler contract").isEmpty();
    }

    // ---------------------------------------------------------------- connecting and talking

    @Test
    void shouldOpenOneServerConnectionPerClientConnection() throws Exception {
        TckClient.connect(client, address);
        TckClient.connect(client, address);
        await().atMost(TckClient.TIMEOUT_SECONDS, SECONDS).until(() -> router.opened().size() == 2);
        await().atMost(TckClient.TIMEOUT_SECONDS, SECONDS).until(() -> server.connectionCount() == 2);
        Connection first = router.opened().get(0);
        Connection second = router.opened().get(1);
        assertThat(first.id()).as("connection ids").isNotEqualTo(second.id());
        assertThat(first.transport()).isEqualTo(provider().name());
        assertThat(first.isOpen()).isTrue();
    }

    @Test
    void shouldAnswerHelloWithWelcome() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        assertThat(alice.connection().isOpen()).isTrue();
    }

    @Test
    void shouldAnswerSendWithAccepted() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        alice.send(send("nobody", "c-1", ByteString.copyFromUtf8("hi")));
        assertThat(alice.next(Frame.BodyCase.ACCEPTED).getAccepted().getClientMessageId()).isEqualTo("c-1");
    }

    @Test
    void shouldDeliverASendToTheRecipientWithThePayloadIntact() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        TckClient bob = TckClient.hello(client, address, "bob");
        byte[] everyByte = new byte[512];
        for (int i = 0; i < everyByte.length; i++) {
            everyByte[i] = (byte) i; // every byte value, twice: a transport must be 8-bit clean
        }
        alice.send(send("bob", "c-1", ByteString.copyFrom(everyByte)));

        Deliver deliver = bob.next(Frame.BodyCase.DELIVER).getDeliver();
        assertThat(deliver.getPayload().toByteArray()).isEqualTo(everyByte);
        assertThat(deliver.getSender()).isEqualTo("alice");
        assertThat(deliver.getClientMessageId()).isEqualTo("c-1");
        assertThat(deliver.getServerMessageId())
            .isEqualTo(alice.next(Frame.BodyCase.ACCEPTED).getAccepted().getServerMessageId());
    }

    @Test
    void shouldDeliverTenThousandBackToBackFramesInOrder() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        TckClient bob = TckClient.hello(client, address, "bob");
        int count = 10_000;
        for (int i = 0; i < count; i++) {
            alice.send(send("bob", "m-" + i, sequenceNumber(i)));
        }
        for (int i = 0; i < count; i++) {
            Deliver deliver = bob.next(Frame.BodyCase.DELIVER).getDeliver();
            assertThat(deliver.getPayload().asReadOnlyByteBuffer().getInt()).as("sequence number").isEqualTo(i);
        }
        long previous = 0;
        for (int i = 0; i < count; i++) {
            Frame accepted = alice.next(Frame.BodyCase.ACCEPTED);
            assertThat(accepted.getAccepted().getClientMessageId()).isEqualTo("m-" + i);
            assertThat(accepted.getAccepted().getServerMessageId()).isGreaterThan(previous);
            previous = accepted.getAccepted().getServerMessageId();
        }
    }

    // ---------------------------------------------------------------- limits and bad input

    @Test
    void shouldAcceptAFrameOfExactlyTheMaximumSize() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        Frame largest = sendOfEncodedSize("nobody", "largest", maxFrameBytes);
        alice.send(largest);
        assertThat(alice.next(Frame.BodyCase.ACCEPTED).getAccepted().getClientMessageId()).isEqualTo("largest");

        alice.send(send("nobody", "after", ByteString.copyFromUtf8("still open")));
        assertThat(alice.next(Frame.BodyCase.ACCEPTED).getAccepted().getClientMessageId()).isEqualTo("after");
    }

    @Test
    void shouldRefuseAFrameOneByteAboveTheMaximumAndClose() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        TckClient bob = TckClient.hello(client, address, "bob");
        TckClient carol = TckClient.hello(client, address, "carol");

        alice.sendUnchecked(sendOfEncodedSize("bob", "too-large", maxFrameBytes + 1).toByteArray());
        alice.nextFatalError(Error.Code.FRAME_TOO_LARGE);
        alice.awaitClosed();
        assertThat(router.transportErrors()).contains(Error.Code.FRAME_TOO_LARGE);

        // Nothing of the refused frame reached bob, and everyone else carries on.
        carol.send(send("bob", "after", ByteString.copyFromUtf8("still working")));
        assertThat(bob.next(Frame.BodyCase.DELIVER).getDeliver().getClientMessageId()).isEqualTo("after");
    }

    @Test
    void shouldAnswerGarbageWithMalformedFrameAndCloseWhileOthersKeepTalking() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        TckClient bob = TckClient.hello(client, address, "bob");
        TckClient mallory = TckClient.hello(client, address, "mallory");

        byte[] garbage = new byte[512];
        new Random(42).nextBytes(garbage);
        // A first byte with wire type 7 (low bits 111) makes the first tag invalid, so these bytes
        // can never parse as a Frame, whatever the random rest is.
        garbage[0] = (byte) 0xFF;
        mallory.sendUnchecked(garbage);
        mallory.nextFatalError(Error.Code.MALFORMED_FRAME);
        mallory.awaitClosed();
        assertThat(router.transportErrors()).contains(Error.Code.MALFORMED_FRAME);

        alice.send(send("bob", "after", ByteString.copyFromUtf8("still working")));
        assertThat(bob.next(Frame.BodyCase.DELIVER).getDeliver().getPayload().toStringUtf8()).isEqualTo("still working");
        bob.send(send("alice", "reply", ByteString.copyFromUtf8("me too")));
        assertThat(alice.next(Frame.BodyCase.ACCEPTED).getAccepted().getClientMessageId()).isEqualTo("after");
        assertThat(alice.next(Frame.BodyCase.DELIVER).getDeliver().getPayload().toStringUtf8()).isEqualTo("me too");
    }

    /**
     * A frame with no body is valid protobuf (it is also what a newer client's unknown body looks
     * like), so a transport hands it to the router like any other; the router refuses it. The
     * transport's part is to carry the router's fatal error to the peer before closing.
     */
    @Test
    void shouldCarryTheRoutersMalformedFrameErrorForAFrameWithoutBody() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        alice.send(Frame.newBuilder().setRequestId(7).build());
        assertThat(alice.nextFatalError(Error.Code.MALFORMED_FRAME).getRequestId()).isEqualTo(7);
        alice.awaitClosed();
    }

    @Test
    void shouldCarryTheRoutersNotAuthenticatedErrorForAFrameBeforeHello() throws Exception {
        TckClient anonymous = TckClient.connect(client, address);
        anonymous.send(send("bob", "c-1", ByteString.copyFromUtf8("who am I")));
        anonymous.nextFatalError(Error.Code.NOT_AUTHENTICATED);
        anonymous.awaitClosed();
    }

    // ---------------------------------------------------------------- Errors on the I/O thread

    @Test
    void shouldCloseOnlyTheConnectionWhoseHandlingRanOutOfDirectMemory() throws Exception {
        assertAnErrorClosesOnlyItsConnection(EchoRouter.THROW_OUT_OF_DIRECT_MEMORY,
            IoThreadErrors.Kind.OUT_OF_DIRECT_MEMORY);
    }

    @Test
    void shouldCloseOnlyTheConnectionWhoseHandlingOverflowedTheStack() throws Exception {
        assertAnErrorClosesOnlyItsConnection(EchoRouter.THROW_STACK_OVERFLOW, IoThreadErrors.Kind.STACK_OVERFLOW);
    }

    /**
     * An Error that is not recoverable closes its connection too, and then goes to the thread's
     * uncaught-exception handler, which decides for the process (the Courier server's stops it).
     */
    @Test
    void shouldCloseTheConnectionAndEscalateAnErrorThatIsNotRecoverable() throws Exception {
        Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        CompletableFuture<Throwable> escalated = new CompletableFuture<>();
        Thread.setDefaultUncaughtExceptionHandler((thread, error) -> escalated.complete(error));
        try {
            assertAnErrorClosesOnlyItsConnection(EchoRouter.THROW_OUT_OF_HEAP, IoThreadErrors.Kind.FATAL, escalated);
            assertThat(escalated.get()).isInstanceOf(OutOfMemoryError.class).hasMessage("Java heap space");
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(previous);
        }
    }

    private void assertAnErrorClosesOnlyItsConnection(String contentType, IoThreadErrors.Kind kind) throws Exception {
        assertAnErrorClosesOnlyItsConnection(contentType, kind, CompletableFuture.completedFuture(null));
    }

    /** @param escalated completes once the error has been escalated, if it is to be. */
    private void assertAnErrorClosesOnlyItsConnection(String contentType, IoThreadErrors.Kind kind,
                                                      CompletableFuture<Throwable> escalated) throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        TckClient bob = TckClient.hello(client, address, "bob");
        TckClient mallory = TckClient.hello(client, address, "mallory");
        Connection malloryServerSide = router.connectionsOf("mallory").iterator().next();

        mallory.send(Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId("boom").setRecipient("bob")
            .setContentType(contentType)).build());
        mallory.awaitClosed();
        // Before any await: Awaitility swaps the default uncaught-exception handler while it waits,
        // and would take the escalated error for a failure of the test.
        escalated.get(TckClient.TIMEOUT_SECONDS, SECONDS);
        await().atMost(TckClient.TIMEOUT_SECONDS, SECONDS).until(() -> router.closed().contains(malloryServerSide));
        assertThat(router.ioThreadErrors()).as("reported once").singleElement()
            .satisfies(error -> assertThat(IoThreadErrors.classify(error)).isEqualTo(kind));

        alice.send(send("bob", "after", ByteString.copyFromUtf8("still working")));
        assertThat(bob.next(Frame.BodyCase.DELIVER).getDeliver().getPayload().toStringUtf8()).isEqualTo("still working");
        TckClient again = TckClient.hello(client, address, "mallory");
        again.send(send("alice", "back", ByteString.copyFromUtf8("a new connection works")));
        assertThat(again.next(Frame.BodyCase.ACCEPTED).getAccepted().getClientMessageId()).isEqualTo("back");
    }

    // ---------------------------------------------------------------- closing

    @Test
    void shouldCallOnCloseOnceWhenThePeerDisconnects() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        Connection serverSide = router.connectionsOf("alice").iterator().next();
        assertThat(server.connectionCount()).isEqualTo(1);

        alice.connection().close();
        alice.awaitClosed();
        await().atMost(TckClient.TIMEOUT_SECONDS, SECONDS).until(() -> server.connectionCount() == 0);
        await().atMost(TckClient.TIMEOUT_SECONDS, SECONDS).until(() -> router.closed().contains(serverSide));
        assertThat(router.closed()).containsExactly(serverSide);
        assertThat(serverSide.isOpen()).isFalse();
    }

    @Test
    void shouldTellTheClientWhenTheServerClosesItsConnection() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        TckClient bob = TckClient.hello(client, address, "bob");

        Connection serverSide = router.connectionsOf("alice").iterator().next();
        router.closeConnectionsOf("alice");
        alice.awaitClosed();
        await().atMost(TckClient.TIMEOUT_SECONDS, SECONDS).until(() -> router.closed().contains(serverSide));
        await().atMost(TckClient.TIMEOUT_SECONDS, SECONDS).until(() -> server.connectionCount() == 1);
        assertThat(router.closed()).containsExactly(serverSide);
        assertThat(bob.connection().isOpen()).isTrue();
    }

    @Test
    void shouldConnectAgainFromTheSameClientAfterAClose() throws Exception {
        TckClient first = TckClient.hello(client, address, "alice");
        first.connection().close();
        first.awaitClosed();

        TckClient again = TckClient.hello(client, address, "alice");
        again.send(send("nobody", "again", ByteString.copyFromUtf8("back")));
        assertThat(again.next(Frame.BodyCase.ACCEPTED).getAccepted().getClientMessageId()).isEqualTo("again");
    }

    @Test
    void shouldHoldSeveralConnectionsFromOneClientAtOnce() throws Exception {
        TckClient alicePhone = TckClient.hello(client, address, "alice");
        TckClient aliceLaptop = TckClient.hello(client, address, "alice");
        TckClient bob = TckClient.hello(client, address, "bob");

        bob.send(send("alice", "to-both", ByteString.copyFromUtf8("hello alice")));
        assertThat(alicePhone.next(Frame.BodyCase.DELIVER).getDeliver().getClientMessageId()).isEqualTo("to-both");
        assertThat(aliceLaptop.next(Frame.BodyCase.DELIVER).getDeliver().getClientMessageId()).isEqualTo("to-both");
        alicePhone.send(send("bob", "from-phone", ByteString.copyFromUtf8("hi")));
        aliceLaptop.send(send("bob", "from-laptop", ByteString.copyFromUtf8("hi")));
        // Bob's accepted and the two delivers come from different connections' threads: any order.
        assertThat(List.of(bob.next(), bob.next(), bob.next()))
            .extracting(frame -> frame.getBodyCase() + " " + (frame.hasAccepted()
                ? frame.getAccepted().getClientMessageId() : frame.getDeliver().getClientMessageId()))
            .containsExactlyInAnyOrder("ACCEPTED to-both", "DELIVER from-phone", "DELIVER from-laptop");
        assertThat(server.connectionCount()).isEqualTo(3);
    }

    @Test
    void shouldFailToConnectWhereNothingListensNamingTheAddress() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort(); // free a moment ago, and nobody of ours listens there
        }
        URI nowhere = new URI(address.getScheme(), null, address.getHost(), port, address.getPath(), null, null);
        assertThatThrownBy(() -> client.connect(nowhere, TckClient.unconnected()).get(TckClient.TIMEOUT_SECONDS, SECONDS))
            .isInstanceOf(ExecutionException.class)
            .cause().isInstanceOf(TransportException.class)
            .hasMessageContaining(address.getHost() + ":" + port);
    }

    @Test
    void shouldCloseEveryConnectionWhenTheServerCloses() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        TckClient bob = TckClient.hello(client, address, "bob");
        TckClient anonymous = TckClient.connect(client, address);
        await().atMost(TckClient.TIMEOUT_SECONDS, SECONDS).until(() -> router.opened().size() == 3);

        server.close();
        alice.awaitClosed();
        bob.awaitClosed();
        anonymous.awaitClosed();
        assertThat(router.closed()).containsExactlyInAnyOrderElementsOf(router.opened());
        assertThat(server.connectionCount()).isZero();
    }

    // ---------------------------------------------------------------- frames

    private static Frame send(String recipient, String clientId, ByteString payload) {
        return Frame.newBuilder().setSend(Send.newBuilder()
            .setClientMessageId(clientId)
            .setRecipient(recipient)
            .setContentType("application/octet-stream")
            .setPayload(payload)).build();
    }

    private static ByteString sequenceNumber(int i) {
        return ByteString.copyFrom(ByteBuffer.allocate(Integer.BYTES).putInt(0, i));
    }

    /**
     * A send whose encoded {@code Frame} is exactly {@code size} bytes. The payload takes all but
     * the last two to four bytes, which {@code request_id} fills: a payload alone cannot hit every
     * size, because the length varints in front of it grow by whole bytes.
     */
    static Frame sendOfEncodedSize(String recipient, String clientId, int size) {
        int payload = size;
        Frame frame;
        do {
            frame = send(recipient, clientId, ByteString.copyFrom(new byte[Math.max(0, payload)]));
            // Each payload byte adds at least one encoded byte, so this step never overshoots by
            // more than the few bytes the length varints shrink.
            payload -= Math.max(1, frame.getSerializedSize() - (size - 2));
        } while (frame.getSerializedSize() > size - 2);
        int gap = size - frame.getSerializedSize(); // 2..4: a one-byte tag and a varint of gap - 1 bytes
        Frame exact = frame.toBuilder().setRequestId(1L << (7 * (gap - 2))).build();
        assertThat(exact.getSerializedSize()).as("encoded size of the test frame").isEqualTo(size);
        return exact;
    }
}
