package io.courier.transport.ws;

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
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A WebSocket client that keeps sending and never reads is closed with SLOW_CONSUMER once more
 * than {@code max-unread-output-bytes} wait for it: the error in its sub-protocol, then close
 * 1008. The client is a raw socket that reads only after the fact.
 */
class WsSlowConsumerTest {

    private static final int MAX = 64 * 1024;
    private static final int LIMIT = 256 * 1024;

    private final EchoRouter router = new EchoRouter();
    private TransportServer server;
    private TransportClient client;
    private InetSocketAddress address;

    @BeforeEach
    void start() {
        server = new WsTransportProvider().createServer(new TransportSettings("127.0.0.1", 0, MAX,
            Map.of("max-unread-output-bytes", Integer.toString(LIMIT))), router);
        server.start();
        address = new InetSocketAddress(server.address().getHost(), server.address().getPort());
        client = new WsTransportProvider().createClient(TransportSettings.of(0).withMaxFrameBytes(MAX));
    }

    @AfterEach
    void stop() throws Exception {
        bystandersStillChat();
        client.close();
        server.close();
        assertThat(router.violations()).isEmpty();
    }

    @Test
    void shouldCloseAClientThatKeepsSendingButStopsReadingWithSlowConsumerThen1008() throws Exception {
        try (RawWebSocket mallory = RawWebSocket.upgrade(address, "/ws", WsTransportProvider.PROTO, 8 * 1024)) {
            mallory.sendBinary(hello("mallory").toByteArray());
            // Each send to herself makes the echo router write an Accepted and a 60 KB Deliver back.
            byte[] send = Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId("m").setRecipient("mallory")
                .setPayload(ByteString.copyFrom(new byte[60_000]))).build().toByteArray();
            int sent = 0;
            while (!router.transportErrors().contains(Error.Code.SLOW_CONSUMER) && sent < 2_000) {
                mallory.sendBinary(send);
                sent++;
            }
            assertThat(router.transportErrors()).as("after %d sends", sent).containsExactly(Error.Code.SLOW_CONSUMER);
            assertThat(server.unreadOutputBytes()).as("what waits: the limit, the write that passed it, the error")
                .isGreaterThan(LIMIT).isLessThanOrEqualTo(LIMIT + MAX + 1024);

            List<Frame> frames = new ArrayList<>();
            RawWebSocket.Message message;
            while ((message = mallory.next()) != null && !message.isClose()) {
                frames.add(Frame.parseFrom(message.payload()));
            }
            assertThat(message).as("a close frame after the error").isNotNull();
            assertThat(message.closeStatus()).isEqualTo(1008);
            assertThat(frames).filteredOn(Frame::hasError).singleElement().satisfies(frame -> {
                assertThat(frame.getError().getCode()).isEqualTo(Error.Code.SLOW_CONSUMER);
                assertThat(frame.getError().getFatal()).isTrue();
                assertThat(frame.getError().getText()).contains("You stopped reading")
                    .contains("transports.ws.options.max-unread-output-bytes");
            });
            assertThat(frames.get(frames.size() - 1).hasError()).as("the error is the last message").isTrue();
        }
        await().atMost(30, SECONDS).until(() -> router.closed().size() == 1);
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

    static Frame hello(String user) {
        return Frame.newBuilder().setHello(Hello.newBuilder().setUser(user).setDevice("1")).build();
    }
}
