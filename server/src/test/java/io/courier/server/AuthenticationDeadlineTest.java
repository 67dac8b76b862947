package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.transport.proto.Error;
import io.courier.transport.proto.Error.Code;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Receipt.Status;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every connection must authenticate in time, on every transport of the real server, configured
 * with short deadlines: one that never says hello is closed by the router's
 * {@code router.hello-timeout-ms} with NOT_AUTHENTICATED — on TCP, after a UDP handshake, after a
 * WebSocket upgrade, on a long-polling session — and one that never becomes a Courier connection
 * at all (no WebSocket upgrade, no HTTP request) is closed by its transport and counted in
 * {@code courier_transport_timeouts_total}. Each test waits for the close; a bystander pair chats
 * afterwards.
 */
class AuthenticationDeadlineTest {

    private static final int DEADLINE_MS = 300;

    @TempDir
    Path dataDir;

    private ServerFixture fixture;
    private TestClient dave;
    private TestClient erin;
    private final AtomicInteger bystanderMessages = new AtomicInteger();

    @BeforeEach
    void start() throws Exception {
        fixture = new ServerFixture(dataDir,
            "router.hello-timeout-ms=" + DEADLINE_MS,
            "transports.ws.options.upgrade-timeout-ms=" + DEADLINE_MS,
            "transports.longpoll.options.request-timeout-ms=" + DEADLINE_MS);
        dave = fixture.user("dave").connect();
        erin = fixture.user("erin").connect();
    }

    @AfterEach
    void stop() {
        bystandersStillChat();
        fixture.close();
    }

    @Test
    void shouldCloseATcpConnectionThatNeverSaysHello() throws Exception {
        try (Socket silent = socket(fixture.tcp)) {
            Frame frame = Frame.parseDelimitedFrom(new DataInputStream(silent.getInputStream()));
            assertNoHelloInTime(frame.getError());
            assertThat(silent.getInputStream().read()).as("closed after the error").isEqualTo(-1);
        }
    }

    @Test
    void shouldCloseAUdpConnectionThatCompletedItsHandshakeButNeverSaysHello() throws Exception {
        assertClosedForNoHello("udp");
    }

    @Test
    void shouldCloseAnUpgradedWebSocketThatNeverSaysHello() throws Exception {
        assertClosedForNoHello("ws");
    }

    @Test
    void shouldCloseALongPollingSessionThatNeverSaysHello() throws Exception {
        assertClosedForNoHello("longpoll");
    }

    @Test
    void shouldCloseAConnectionToTheWebSocketPortThatNeverUpgrades() throws Exception {
        try (Socket silent = socket(fixture.server.address("ws"))) {
            assertThat(readToTheEnd(silent.getInputStream())).startsWith("HTTP/1.1 408")
                .contains("transports.ws.options.upgrade-timeout-ms");
        }
        await().atMost(10, SECONDS).until(() -> fixture.server.router().transportTimeoutCount("ws") == 1);
        assertThat(fixture.server.registry().scrape()).contains("courier_transport_timeouts_total{transport=\"ws\"} 1.0");
    }

    @Test
    void shouldCloseAConnectionToTheLongPollingPortThatNeverSendsARequest() throws Exception {
        try (Socket silent = socket(fixture.server.address("longpoll"))) {
            assertThat(readToTheEnd(silent.getInputStream())).isEmpty();
        }
        await().atMost(10, SECONDS).until(() -> fixture.server.router().transportTimeoutCount("longpoll") >= 1);
    }

    // ---------------------------------------------------------------- helpers

    /** A client that opens the transport (handshake, upgrade or session) and says nothing. */
    private void assertClosedForNoHello(String transport) throws Exception {
        TestClient mute = fixture.user(transport, "mute").connectOnly();
        assertNoHelloInTime(mute.nextError());
        mute.closedFuture().get(TestClient.TIMEOUT_SECONDS, SECONDS);
        assertThat(fixture.server.router().errorCount(Code.NOT_AUTHENTICATED)).isEqualTo(1);
    }

    private static void assertNoHelloInTime(Error error) {
        assertThat(error.getCode()).isEqualTo(Code.NOT_AUTHENTICATED);
        assertThat(error.getFatal()).isTrue();
        assertThat(error.getText()).isEqualTo("No hello within " + DEADLINE_MS + " ms");
    }

    private static Socket socket(URI address) throws IOException {
        Socket socket = new Socket(address.getHost(), address.getPort());
        socket.setSoTimeout((int) SECONDS.toMillis(TestClient.TIMEOUT_SECONDS));
        return socket;
    }

    private static String readToTheEnd(InputStream in) throws IOException {
        ByteArrayOutputStream read = new ByteArrayOutputStream();
        in.transferTo(read);
        return read.toString(StandardCharsets.ISO_8859_1);
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
        assertThat(dave.errors).isEmpty();
        assertThat(erin.errors).isEmpty();
    }
}
