package io.courier.transport.ws;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.courier.transport.ClientConnection;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Send;
import io.courier.transport.tck.EchoRouter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A TCP connection to the WebSocket port must complete its upgrade within
 * {@code upgrade-timeout-ms} of opening, however it stalls: sending nothing, or dribbling the
 * request a byte at a time more often than the deadline (which an idle timer would never close).
 * It gets 408 and is closed; the router hears of it. An upgraded connection is not affected.
 */
class WsUpgradeDeadlineTest {

    private static final int DEADLINE_MS = 400;

    private final EchoRouter router = new EchoRouter();
    private final ScheduledExecutorService dribbler = Executors.newSingleThreadScheduledExecutor();
    private TransportServer server;
    private TransportClient client;

    @BeforeEach
    void start() {
        server = new WsTransportProvider().createServer(new TransportSettings("127.0.0.1", 0, 64 * 1024,
            Map.of("upgrade-timeout-ms", Integer.toString(DEADLINE_MS))), router);
        server.start();
        client = new WsTransportProvider().createClient(TransportSettings.of(0));
    }

    @AfterEach
    void stop() {
        dribbler.shutdownNow();
        client.close();
        server.close();
        assertThat(router.violations()).isEmpty();
    }

    @Test
    void shouldCloseAConnectionThatNeverSendsAnUpgradeRequest() throws Exception {
        try (Socket silent = socket()) {
            String answer = readToTheEnd(silent.getInputStream());
            assertThat(answer).startsWith("HTTP/1.1 408").contains("No WebSocket upgrade within " + DEADLINE_MS + " ms")
                .contains("transports.ws.options.upgrade-timeout-ms");
        }
        assertThat(router.transportTimeouts()).singleElement().asString().contains("upgrade-timeout-ms");
        assertThat(router.opened()).as("never a Courier connection").isEmpty();
    }

    @Test
    void shouldCloseAConnectionThatDribblesItsUpgradeRequestFasterThanTheDeadline() throws Exception {
        try (Socket slowloris = socket()) {
            OutputStream out = slowloris.getOutputStream();
            out.write("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            AtomicInteger dribbled = new AtomicInteger();
            // A byte every 50 ms: never idle for the deadline, never a complete request.
            dribbler.scheduleAtFixedRate(() -> {
                try {
                    out.write('a');
                    out.flush();
                    dribbled.incrementAndGet();
                } catch (IOException closed) {
                    throw new IllegalStateException("closed", closed);
                }
            }, 50, 50, TimeUnit.MILLISECONDS);
            assertThat(readToTheEnd(slowloris.getInputStream())).startsWith("HTTP/1.1 408");
            assertThat(dribbled.get()).as("bytes kept coming until the close").isPositive();
        }
        assertThat(router.transportTimeouts()).hasSize(1);
        assertThat(router.opened()).isEmpty();
    }

    @Test
    void shouldLeaveAnUpgradedConnectionOpenPastTheDeadline() throws Exception {
        BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
        ClientConnection alice = client.connect(server.address(), frames::add).get(10, SECONDS);
        alice.send(WsSlowConsumerTest.hello("alice"));
        assertThat(frames.poll(10, SECONDS).hasWelcome()).isTrue();
        // A connection opened after alice's is closed by its deadline: alice's has passed too.
        try (Socket silent = socket()) {
            readToTheEnd(silent.getInputStream());
        }
        await().atMost(10, SECONDS).until(() -> router.transportTimeouts().size() == 1);
        alice.send(Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId("a").setRecipient("alice")
            .setPayload(ByteString.copyFromUtf8("still open"))).build());
        assertThat(frames.poll(10, SECONDS).getAccepted().getClientMessageId()).isEqualTo("a");
        assertThat(alice.isOpen()).isTrue();
        alice.close();
    }

    private Socket socket() throws IOException {
        Socket socket = new Socket(server.address().getHost(), server.address().getPort());
        socket.setSoTimeout((int) SECONDS.toMillis(30));
        return socket;
    }

    /** What the server sent until it closed; a reset (the dribbler writing into the closed socket) ends it too. */
    static String readToTheEnd(InputStream in) throws IOException {
        java.io.ByteArrayOutputStream read = new java.io.ByteArrayOutputStream();
        byte[] chunk = new byte[4096];
        try {
            int n;
            while ((n = in.read(chunk)) >= 0) {
                read.write(chunk, 0, n);
            }
        } catch (java.net.SocketException reset) {
            // the end, as far as this client is concerned
        }
        return read.toString(StandardCharsets.ISO_8859_1);
    }
}
