package io.courier.transport.tcp;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.courier.transport.ClientConnection;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Send;
import io.courier.transport.tck.EchoRouter;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A client that keeps sending and never reads makes the server write replies it does not take:
 * once more than {@code max-unread-output-bytes} wait in the connection's outbound buffer, the
 * server closes it with SLOW_CONSUMER. The client is a raw socket with a small receive buffer, so
 * nothing reads for it; a bystander pair chats afterwards.
 */
class TcpSlowConsumerTest {

    private static final int MAX = 64 * 1024;
    private static final int LIMIT = 256 * 1024;

    private final EchoRouter router = new EchoRouter();
    private TransportServer server;
    private TransportClient client;
    private InetSocketAddress address;

    @BeforeEach
    void start() {
        server = new TcpTransportProvider().createServer(new TransportSettings("127.0.0.1", 0, MAX,
            Map.of("max-unread-output-bytes", Integer.toString(LIMIT))), router);
        server.start();
        address = new InetSocketAddress(server.address().getHost(), server.address().getPort());
        client = new TcpTransportProvider().createClient(TransportSettings.of(0).withMaxFrameBytes(MAX));
    }

    @AfterEach
    void stop() throws Exception {
        bystandersStillChat();
        client.close();
        server.close();
        assertThat(router.violations()).isEmpty();
    }

    @Test
    void shouldCloseAClientThatKeepsSendingButStopsReadingWithSlowConsumer() throws Exception {
        try (Socket socket = new Socket()) {
            socket.setReceiveBufferSize(8 * 1024);
            socket.connect(address);
            socket.setSoTimeout((int) SECONDS.toMillis(30));
            OutputStream out = new BufferedOutputStream(socket.getOutputStream());
            hello("mallory").writeDelimitedTo(out);
            // Each send to herself makes the echo router write an Accepted and a 60 KB Deliver back.
            Frame send = Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId("m").setRecipient("mallory")
                .setPayload(ByteString.copyFrom(new byte[60_000]))).build();
            int sent = 0;
            while (!router.transportErrors().contains(Error.Code.SLOW_CONSUMER) && sent < 2_000) {
                send.writeDelimitedTo(out);
                out.flush();
                sent++;
            }
            assertThat(router.transportErrors()).as("after %d sends", sent).containsExactly(Error.Code.SLOW_CONSUMER);
            assertThat(server.unreadOutputBytes()).as("what waits: the limit, the write that passed it, the error")
                .isGreaterThan(LIMIT).isLessThanOrEqualTo(LIMIT + MAX + 1024);

            // Reading now, the client finds the error after what it left unread, then the end.
            List<Frame> frames = readToTheEnd(socket.getInputStream());
            assertThat(frames).filteredOn(Frame::hasError).singleElement().satisfies(frame -> {
                assertThat(frame.getError().getCode()).isEqualTo(Error.Code.SLOW_CONSUMER);
                assertThat(frame.getError().getFatal()).isTrue();
                assertThat(frame.getError().getText()).contains("You stopped reading").contains(Integer.toString(LIMIT))
                    .contains("transports.tcp.options.max-unread-output-bytes");
            });
            assertThat(frames.get(frames.size() - 1).hasError()).as("nothing after the error").isTrue();
        }
        await().atMost(30, SECONDS).until(() -> router.closed().size() == 1);
    }

    /** Every frame until the server ends the stream. */
    private static List<Frame> readToTheEnd(InputStream in) throws IOException {
        List<Frame> frames = new ArrayList<>();
        Frame frame;
        while ((frame = Frame.parseDelimitedFrom(in)) != null) {
            frames.add(frame);
        }
        return frames;
    }

    private void bystandersStillChat() throws Exception {
        BlockingQueue<Frame> daveFrames = new LinkedBlockingQueue<>();
        BlockingQueue<Frame> erinFrames = new LinkedBlockingQueue<>();
        ClientConnection dave = client.connect(server.address(), daveFrames::add).get(10, SECONDS);
        ClientConnection erin = client.connect(server.address(), erinFrames::add).get(10, SECONDS);
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
}
