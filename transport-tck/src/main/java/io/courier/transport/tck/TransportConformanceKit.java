package io.courier.transport.tck;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportException;
import io.courier.transport.TransportProvider;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import java.net.ServerSocket;
import java.net.URI;
import java.util.Arrays;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The transport conformance kit. A transport certifies itself with one class:
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
 * Each test starts the transport's server on a free loopback port with a small router that
 * answers hello and send ({@link EchoRouter}), and talks to it through the transport's own client.
 * Nothing here knows how the transport frames bytes: garbage and oversized frames go through
 * {@link io.courier.transport.ClientConnection#sendUnchecked}.
 */
public abstract class TransportConformanceKit {

    /** The frame limit the kit runs the server with: small, so the oversized test is cheap. */
    protected static final int MAX_FRAME_BYTES = 64 * 1024;

    private EchoRouter router;
    private TransportServer server;
    private TransportClient client;
    private URI address;

    /** The transport under test. */
    protected abstract TransportProvider provider();

    /** Server settings: loopback, a free port, {@link #MAX_FRAME_BYTES}. Override to add options. */
    protected TransportSettings serverSettings() {
        return TransportSettings.of(0).withMaxFrameBytes(MAX_FRAME_BYTES);
    }

    /** Client settings; by default the same limit as the server. */
    protected TransportSettings clientSettings() {
        return TransportSettings.of(0).withMaxFrameBytes(MAX_FRAME_BYTES);
    }

    @BeforeEach
    final void startServer() {
        router = new EchoRouter();
        server = provider().createServer(serverSettings(), router);
        server.start();
        address = server.address();
        client = provider().createClient(clientSettings());
    }

    @AfterEach
    final void stopServer() {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    void shouldConnectAndOpenAServerConnection() throws Exception {
        TckClient.connect(client, address);
        await().atMost(TckClient.TIMEOUT_SECONDS, SECONDS).until(() -> router.opened.get() == 1);
        await().atMost(TckClient.TIMEOUT_SECONDS, SECONDS).until(() -> server.connectionCount() == 1);
    }

    @Test
    void shouldAnswerHelloWithWelcomeAndSendWithAccepted() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        alice.connection.send(TckClient.send("nobody", "c-1", ByteString.copyFromUtf8("hi")));
        Frame accepted = alice.next();
        assertThat(accepted.hasAccepted()).as("%s", accepted).isTrue();
        assertThat(accepted.getAccepted().getClientMessageId()).isEqualTo("c-1");
    }

    @Test
    void shouldDeliverToAnotherConnection() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        TckClient bob = TckClient.hello(client, address, "bob");
        alice.connection.send(TckClient.send("bob", "c-1", ByteString.copyFromUtf8("hello bob")));
        Frame deliver = bob.next();
        assertThat(deliver.hasDeliver()).as("%s", deliver).isTrue();
        assertThat(deliver.getDeliver().getPayload().toStringUtf8()).isEqualTo("hello bob");
        assertThat(deliver.getDeliver().getSender()).isEqualTo("alice");
        assertThat(alice.next().hasAccepted()).isTrue();
    }

    @Test
    void shouldKeepTenThousandFramesInOrder() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        TckClient bob = TckClient.hello(client, address, "bob");
        int count = 10_000;
        for (int i = 0; i < count; i++) {
            alice.connection.send(TckClient.send("bob", Integer.toString(i), ByteString.copyFromUtf8("#" + i)));
        }
        for (int i = 0; i < count; i++) {
            Frame deliver = bob.next();
            assertThat(deliver.getDeliver().getClientMessageId()).isEqualTo(Integer.toString(i));
            Frame accepted = alice.next();
            assertThat(accepted.getAccepted().getClientMessageId()).isEqualTo(Integer.toString(i));
        }
    }

    @Test
    void shouldAcceptAFrameOfExactlyTheMaximumAndRefuseOneByteMore() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        TckClient bob = TckClient.hello(client, address, "bob");

        Frame largest = frameOfSize(MAX_FRAME_BYTES);
        assertThat(largest.getSerializedSize()).isEqualTo(MAX_FRAME_BYTES);
        alice.connection.send(largest);
        assertThat(alice.next().hasAccepted()).isTrue();

        Frame tooLarge = frameOfSize(MAX_FRAME_BYTES + 1);
        assertThat(tooLarge.getSerializedSize()).isEqualTo(MAX_FRAME_BYTES + 1);
        alice.connection.sendUnchecked(tooLarge.toByteArray());
        Frame error = alice.next();
        assertThat(error.hasError()).as("%s", error).isTrue();
        assertThat(error.getError().getCode()).isEqualTo(Error.Code.FRAME_TOO_LARGE);
        assertThat(error.getError().getFatal()).isTrue();
        alice.awaitClosed();
        assertThat(router.transportErrors).contains(Error.Code.FRAME_TOO_LARGE);
        // The near-maximum frame for bob did arrive whole (bob would get a deliver only if
        // addressed; here it was addressed to "nobody", so bob simply keeps working).
        bob.connection.send(TckClient.send("bob", "self", ByteString.copyFromUtf8("still here")));
        assertThat(bob.next().hasAccepted()).isTrue();
    }

    @Test
    void shouldAnswerGarbageWithAnErrorAndCloseWhileOthersKeepWorking() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        TckClient bob = TckClient.hello(client, address, "bob");
        TckClient mallory = TckClient.hello(client, address, "mallory");

        byte[] garbage = new byte[512];
        Arrays.fill(garbage, (byte) 0xFF); // 0xFF starts a tag with wire type 7: never valid protobuf
        mallory.connection.sendUnchecked(garbage);
        Frame error = mallory.next();
        assertThat(error.hasError()).as("%s", error).isTrue();
        assertThat(error.getError().getCode()).isEqualTo(Error.Code.MALFORMED_FRAME);
        mallory.awaitClosed();

        alice.connection.send(TckClient.send("bob", "after", ByteString.copyFromUtf8("still working")));
        assertThat(bob.next().getDeliver().getPayload().toStringUtf8()).isEqualTo("still working");
    }

    @Test
    void shouldPassAFrameWithoutBodyToTheRouter() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        alice.connection.send(Frame.newBuilder().setRequestId(3).build());
        Frame error = alice.next();
        assertThat(error.getError().getCode()).isEqualTo(Error.Code.MALFORMED_FRAME);
        alice.awaitClosed();
    }

    @Test
    void shouldDetectPeerDisconnectOnce() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        await().atMost(TckClient.TIMEOUT_SECONDS, SECONDS).until(() -> server.connectionCount() == 1);
        alice.connection.close();
        alice.awaitClosed();
        await().atMost(TckClient.TIMEOUT_SECONDS, SECONDS).until(() -> router.closed.size() == 1);
        await().atMost(TckClient.TIMEOUT_SECONDS, SECONDS).until(() -> server.connectionCount() == 0);
        assertThat(router.closed).hasSize(1);
    }

    @Test
    void shouldTellTheClientWhenTheServerCloses() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        router.closeUser("alice");
        alice.awaitClosed();
        assertThat(alice.connection.isOpen()).isFalse();
    }

    @Test
    void shouldReconnectAndHoldSeveralConnectionsFromOneClient() throws Exception {
        TckClient first = TckClient.hello(client, address, "alice");
        first.connection.close();
        first.awaitClosed();
        TckClient again = TckClient.hello(client, address, "alice");
        TckClient other = TckClient.hello(client, address, "bob");
        again.connection.send(TckClient.send("bob", "r", ByteString.copyFromUtf8("back")));
        assertThat(other.next().getDeliver().getPayload().toStringUtf8()).isEqualTo("back");
    }

    @Test
    void shouldFailToConnectWhereNothingListensNamingTheAddress() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        URI nowhere = new URI(address.getScheme(), null, address.getHost(), port, address.getPath(), null, null);
        assertThatThrownBy(() -> client.connect(nowhere, new TckClient()).get(TckClient.TIMEOUT_SECONDS, SECONDS))
            .isInstanceOf(ExecutionException.class)
            .cause().isInstanceOf(TransportException.class).hasMessageContaining(Integer.toString(port));
    }

    @Test
    void shouldCloseEveryConnectionWhenTheServerCloses() throws Exception {
        TckClient alice = TckClient.hello(client, address, "alice");
        TckClient bob = TckClient.hello(client, address, "bob");
        server.close();
        alice.awaitClosed();
        bob.awaitClosed();
        assertThat(router.closed).hasSize(2);
    }

    /** A send whose whole encoded frame is exactly {@code size} bytes. */
    private static Frame frameOfSize(int size) {
        int payload = size;
        Frame frame = TckClient.send("nobody", "big", ByteString.copyFrom(new byte[payload]));
        // Shrink the payload by the envelope's overhead; the varint lengths settle in a step or two.
        while (frame.getSerializedSize() != size) {
            payload -= frame.getSerializedSize() - size;
            frame = TckClient.send("nobody", "big", ByteString.copyFrom(new byte[payload]));
        }
        return frame;
    }
}
