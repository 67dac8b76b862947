package io.courier.transport.longpoll;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.tck.EchoRouter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The long-polling server's HTTP connections run on total deadlines: a request head must arrive
 * within {@code request-timeout-ms} of connecting, a body within that of its head, and an idle
 * keep-alive connection goes after {@code keep-alive-timeout-ms} — however slowly bytes trickle
 * in, which an idle timer would let go on for ever. A held poll is a complete request: it is held
 * its full poll timeout. Raw sockets play the slow clients.
 */
class LongPollDeadlineTest {

    private static final int REQUEST_MS = 400;
    private static final int KEEP_ALIVE_MS = 600;
    private static final Pattern SESSION = Pattern.compile("\"session\"\\s*:\\s*\"([^\"]+)\"");
    private static final Pattern SECRET = Pattern.compile("\"secret\"\\s*:\\s*\"([^\"]+)\"");
    /** The secret of the session {@link #open()} opened last, which every request on it carries. */
    private String secret;

    private final EchoRouter router = new EchoRouter();
    private final ScheduledExecutorService dribbler = Executors.newSingleThreadScheduledExecutor();
    private final HttpClient http = HttpClient.newHttpClient();
    private TransportServer server;
    private URI base;

    @BeforeEach
    void start() {
        server = new LongPollTransportProvider().createServer(new TransportSettings("127.0.0.1", 0, 64 * 1024,
            Map.of("request-timeout-ms", Integer.toString(REQUEST_MS), "keep-alive-timeout-ms",
                Integer.toString(KEEP_ALIVE_MS), "poll-timeout-ms", "1500")), router);
        server.start();
        base = server.address();
    }

    @AfterEach
    void stop() {
        dribbler.shutdownNow();
        server.close();
        assertThat(router.violations()).isEmpty();
    }

    @Test
    void shouldCloseAConnectionThatSendsNoRequest() throws Exception {
        try (Socket silent = socket()) {
            assertThat(readToTheEnd(silent.getInputStream())).as("closed without an answer").isEmpty();
        }
        assertThat(router.transportTimeouts()).singleElement().asString()
            .contains("No request within " + REQUEST_MS + " ms").contains("request-timeout-ms");
    }

    @Test
    void shouldCloseAConnectionThatDribblesARequestHeadFasterThanTheDeadline() throws Exception {
        try (Socket slowloris = socket()) {
            OutputStream out = slowloris.getOutputStream();
            out.write(("GET " + base.getPath() + "/sessions/x/poll?cursor=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            dribble(out);
            assertThat(readToTheEnd(slowloris.getInputStream())).isEmpty();
        }
        assertThat(router.transportTimeouts()).singleElement().asString().contains("No request within");
    }

    @Test
    void shouldAnswer408ToABodyDribbledFasterThanTheDeadline() throws Exception {
        String id = open();
        try (Socket slowloris = socket()) {
            OutputStream out = slowloris.getOutputStream();
            out.write(("POST " + base.getPath() + "/sessions/" + id + "/frames HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + LongPollTransportProvider.SECRET_HEADER + ": " + secret + "\r\n"
                + "Content-Type: " + LongPollTransportProvider.PROTO + "\r\nContent-Length: 100000\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            dribble(out);
            assertThat(readToTheEnd(slowloris.getInputStream())).startsWith("HTTP/1.1 408");
        }
        await().atMost(10, SECONDS).until(() -> router.transportTimeouts().stream()
            .anyMatch(t -> t.contains("Request body not received within " + REQUEST_MS + " ms of its head")));
    }

    @Test
    void shouldCloseAnIdleKeepAliveConnectionThatCarriesNoSession() throws Exception {
        try (Socket idle = socket()) {
            idle.getOutputStream().write(("GET " + base.getPath() + "/sessions/nope/poll?cursor=0 HTTP/1.1\r\n"
                + "Host: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            idle.getOutputStream().flush();
            // The 404, then nothing: the connection is kept alive, idle, until the deadline closes it.
            assertThat(readToTheEnd(idle.getInputStream())).startsWith("HTTP/1.1 404");
        }
        assertThat(router.transportTimeouts()).singleElement().asString()
            .contains("Idle for " + KEEP_ALIVE_MS + " ms").contains("keep-alive-timeout-ms");
    }

    @Test
    void shouldHoldAPollItsWholePollTimeoutThoughThatIsLongerThanTheRequestDeadline() throws Exception {
        String id = open();
        HttpResponse<byte[]> poll = http.send(HttpRequest.newBuilder(URI.create(base + "/sessions/" + id
            + "/poll?cursor=0")).header(LongPollTransportProvider.SECRET_HEADER, secret).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(poll.statusCode()).isEqualTo(200);
        assertThat(poll.body()).as("held until the poll timeout, then answered empty").isEmpty();
        assertThat(router.transportTimeouts()).as("no request deadline cut the held poll")
            .noneMatch(timeout -> timeout.contains("request-timeout-ms"));
    }

    // ---------------------------------------------------------------- helpers

    /** A byte every 50 ms: never idle for the deadline, never a whole request. Stops when the socket is closed. */
    private void dribble(OutputStream out) {
        dribbler.scheduleAtFixedRate(() -> {
            try {
                out.write('a');
                out.flush();
            } catch (IOException closed) {
                throw new IllegalStateException("closed", closed);
            }
        }, 50, 50, TimeUnit.MILLISECONDS);
    }

    private String open() throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(base + "/sessions"))
            .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(201);
        Matcher m = SESSION.matcher(response.body());
        Matcher secretIn = SECRET.matcher(response.body());
        assertThat(m.find() && secretIn.find()).as(response.body()).isTrue();
        secret = secretIn.group(1);
        return m.group(1);
    }

    private Socket socket() throws IOException {
        Socket socket = new Socket(base.getHost(), base.getPort());
        socket.setSoTimeout((int) SECONDS.toMillis(30));
        return socket;
    }

    /** What the server sent until it closed; a reset (the dribbler writing into the closed socket) ends it too. */
    private static String readToTheEnd(InputStream in) throws IOException {
        ByteArrayOutputStream read = new ByteArrayOutputStream();
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
