package io.courier.transport.ws;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.util.JsonFormat;
import io.courier.transport.ClientConnection;
import io.courier.transport.ClientListener;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Send;
import io.courier.transport.tck.EchoRouter;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * WebSocket-specific bad input, each answered with a clear error while a bystander pair keeps
 * chatting. The hostile client is the JDK's own WebSocket client (or raw bytes on a socket), so
 * these tests do not trust our client to misbehave correctly.
 */
class WsBadInputTest {

    private static final int MAX = 64 * 1024;

    private TransportServer server;
    private final EchoRouter router = new EchoRouter();
    private TransportClient netty;
    private URI address;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() {
        TransportSettings settings = new TransportSettings("127.0.0.1", 0, MAX,
            Map.of("allowed-origins", "https://chat.example"));
        server = new WsTransportProvider().createServer(settings, router);
        server.start();
        address = server.address();
        netty = new WsTransportProvider().createClient(TransportSettings.of(0));
    }

    @AfterEach
    void stop() throws Exception {
        bystandersStillChat();
        netty.close();
        server.close();
    }

    // ---------------------------------------------------------------- the cases

    @Test
    void shouldSpeakJsonOnTheTextSubProtocol() throws Exception {
        JdkClient json = JdkClient.open(http, address, WsTransportProvider.JSON, null);
        json.socket.sendText("{\"hello\":{\"user\":\"alice\",\"device\":\"1\"}}", true).get(10, SECONDS);
        Frame welcome = json.nextJson();
        assertThat(welcome.getWelcome().getUser()).isEqualTo("alice");
        json.socket.sendText(JsonFormat.printer().print(Frame.newBuilder().setSend(Send.newBuilder()
            .setClientMessageId("j-1").setRecipient("nobody").setPayload(ByteString.copyFromUtf8("hi"))).build()), true);
        assertThat(json.nextJson().getAccepted().getClientMessageId()).isEqualTo("j-1");
    }

    @Test
    void shouldIgnoreJsonFieldsItDoesNotKnow() throws Exception {
        JdkClient json = JdkClient.open(http, address, WsTransportProvider.JSON, null);
        json.socket.sendText("{\"hello\":{\"user\":\"alice\",\"fromANewerClient\":[1,2]},\"futureEnvelopeField\":{}}",
            true).get(10, SECONDS);
        Frame welcome = json.nextJson();
        assertThat(welcome.hasError()).as("an unknown field is no error: %s", welcome).isFalse();
        assertThat(welcome.getWelcome().getUser()).isEqualTo("alice");
    }

    @Test
    void shouldRefuseBinaryOnTheJsonSubProtocol() throws Exception {
        JdkClient json = JdkClient.open(http, address, WsTransportProvider.JSON, null);
        json.socket.sendBinary(ByteBuffer.wrap(hello("mallory").toByteArray()), true).get(10, SECONDS);
        Frame error = json.nextJson();
        assertThat(error.getError().getCode()).isEqualTo(Error.Code.PROTOCOL_VIOLATION);
        assertThat(error.getError().getText()).contains("binary");
        assertThat(json.closed.get(10, SECONDS)).isNotNull();
    }

    @Test
    void shouldRefuseTextOnTheBinarySubProtocol() throws Exception {
        JdkClient binary = JdkClient.open(http, address, WsTransportProvider.PROTO, null);
        binary.socket.sendText("{\"hello\":{\"user\":\"mallory\"}}", true).get(10, SECONDS);
        Frame error = binary.nextBinary();
        assertThat(error.getError().getCode()).isEqualTo(Error.Code.PROTOCOL_VIOLATION);
        assertThat(error.getError().getText()).contains("text");
        binary.closed.get(10, SECONDS);
    }

    @Test
    void shouldRefuseMalformedJson() throws Exception {
        JdkClient json = JdkClient.open(http, address, WsTransportProvider.JSON, null);
        json.socket.sendText("{\"hello\": not json", true).get(10, SECONDS);
        assertThat(json.nextJson().getError().getCode()).isEqualTo(Error.Code.MALFORMED_FRAME);
    }

    @Test
    void shouldRefuseAFragmentedMessageAboveTheMaximum() throws Exception {
        JdkClient binary = JdkClient.open(http, address, WsTransportProvider.PROTO, null);
        byte[] part = new byte[MAX / 4];
        for (int i = 0; i < 5; i++) {
            binary.socket.sendBinary(ByteBuffer.wrap(part), false).get(10, SECONDS);
        }
        binary.socket.sendBinary(ByteBuffer.wrap(part), true).get(10, SECONDS);
        Frame error = binary.nextBinary();
        assertThat(error.getError().getCode()).isEqualTo(Error.Code.FRAME_TOO_LARGE);
        assertThat(error.getError().getText()).contains(Integer.toString(MAX));
        binary.closed.get(10, SECONDS);
    }

    @Test
    void shouldCloseAConnectionThatNegotiatedNoKnownSubProtocol() throws Exception {
        JdkClient other = JdkClient.open(http, address, "chat.v9", null);
        String reason = other.closeReason.get(10, SECONDS);
        assertThat(reason).contains(WsTransportProvider.PROTO).contains(WsTransportProvider.JSON);
    }

    @Test
    void shouldRefuseAForbiddenOriginAndAcceptAnAllowedOne() throws Exception {
        assertThatThrownBy(() -> JdkClient.open(http, address, WsTransportProvider.PROTO, "https://evil.example"))
            .isInstanceOf(ExecutionException.class)
            .cause().isInstanceOfSatisfying(WebSocketHandshakeException.class,
                e -> assertThat(e.getResponse().statusCode()).isEqualTo(403));
        JdkClient allowed = JdkClient.open(http, address, WsTransportProvider.PROTO, "https://chat.example");
        allowed.socket.sendBinary(ByteBuffer.wrap(hello("carol").toByteArray()), true).get(10, SECONDS);
        assertThat(allowed.nextBinary().hasWelcome()).isTrue();
    }

    @Test
    void shouldCloseWith1007OnInvalidUtf8() throws Exception {
        try (Socket socket = new Socket(address.getHost(), address.getPort())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + address.getPath() + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: courier.v1.json\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            String headers = readHeaders(in);
            assertThat(headers).startsWith("HTTP/1.1 101");
            byte[] payload = {(byte) 0xC3, 0x28}; // an invalid two-byte sequence
            byte[] mask = {1, 2, 3, 4};
            out.write(new byte[] {(byte) 0x81, (byte) (0x80 | payload.length), mask[0], mask[1], mask[2], mask[3],
                (byte) (payload[0] ^ mask[0]), (byte) (payload[1] ^ mask[1])});
            out.flush();
            int opcode = in.read() & 0x0F;
            int length = in.read() & 0x7F;
            assertThat(opcode).as("a close frame").isEqualTo(0x8);
            assertThat(length).isGreaterThanOrEqualTo(2);
            int status = (in.read() << 8) | in.read();
            assertThat(status).isEqualTo(1007);
        }
        // The client's mistake reaches the router as one counted transport error (which it logs as
        // one line), not as an unexpected failure with a stack trace.
        await().atMost(10, SECONDS).until(() -> router.transportErrors().contains(Error.Code.MALFORMED_FRAME));
        assertThat(router.violations()).isEmpty();
    }

    // ---------------------------------------------------------------- helpers

    private void bystandersStillChat() throws Exception {
        BlockingQueue<Frame> daveFrames = new LinkedBlockingQueue<>();
        BlockingQueue<Frame> erinFrames = new LinkedBlockingQueue<>();
        ClientConnection dave = netty.connect(address, daveFrames::add).get(10, SECONDS);
        ClientConnection erin = netty.connect(address, erinFrames::add).get(10, SECONDS);
        dave.send(hello("dave"));
        erin.send(hello("erin"));
        assertThat(daveFrames.poll(10, SECONDS).hasWelcome()).isTrue();
        assertThat(erinFrames.poll(10, SECONDS).hasWelcome()).isTrue();
        dave.send(Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId("d").setRecipient("erin")
            .setPayload(ByteString.copyFromUtf8("still here"))).build());
        Frame deliver = erinFrames.poll(10, SECONDS);
        assertThat(deliver).isNotNull();
        assertThat(deliver.getDeliver().getPayload().toStringUtf8()).isEqualTo("still here");
        dave.close();
        erin.close();
    }

    private static Frame hello(String user) {
        return Frame.newBuilder().setHello(Hello.newBuilder().setUser(user).setDevice("1")).build();
    }

    private static String readHeaders(InputStream in) throws Exception {
        StringBuilder text = new StringBuilder();
        while (!text.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            text.append((char) b);
        }
        return text.toString();
    }

    /** The JDK's WebSocket client, collecting what arrives. */
    private static final class JdkClient implements WebSocket.Listener {
        final BlockingQueue<Object> messages = new LinkedBlockingQueue<>();
        final CompletableFuture<Integer> closed = new CompletableFuture<>();
        final CompletableFuture<String> closeReason = new CompletableFuture<>();
        WebSocket socket;
        private final StringBuilder text = new StringBuilder();
        private ByteBuffer binary = ByteBuffer.allocate(0);

        static JdkClient open(HttpClient http, URI address, String subprotocol, String origin) throws Exception {
            JdkClient client = new JdkClient();
            WebSocket.Builder builder = http.newWebSocketBuilder().subprotocols(subprotocol);
            if (origin != null) {
                builder.header("Origin", origin);
            }
            client.socket = builder.buildAsync(address, client).get(10, SECONDS);
            return client;
        }

        Frame nextJson() throws Exception {
            Object message = messages.poll(10, SECONDS);
            assertThat(message).as("a text message").isInstanceOf(String.class);
            Frame.Builder frame = Frame.newBuilder();
            JsonFormat.parser().merge((String) message, frame);
            return frame.build();
        }

        Frame nextBinary() throws Exception {
            Object message = messages.poll(10, SECONDS);
            assertThat(message).as("a binary message").isInstanceOf(byte[].class);
            return Frame.parseFrom((byte[]) message);
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                messages.add(text.toString());
                text.setLength(0);
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
            ByteBuffer joined = ByteBuffer.allocate(binary.remaining() + data.remaining());
            joined.put(binary).put(data).flip();
            binary = joined;
            if (last) {
                byte[] bytes = new byte[binary.remaining()];
                binary.get(bytes);
                messages.add(bytes);
                binary = ByteBuffer.allocate(0);
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            closed.complete(statusCode);
            closeReason.complete(reason);
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            closed.completeExceptionally(error);
            closeReason.completeExceptionally(error);
        }
    }
}
