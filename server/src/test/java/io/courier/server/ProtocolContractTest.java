package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.util.JsonFormat;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Welcome;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the protocol document promises a client of any transport, held against the real server. */
class ProtocolContractTest {

    private static final Pattern SESSION = Pattern.compile("\"session\"\\s*:\\s*\"([^\"]+)\"");
    private static final Pattern SECRET = Pattern.compile("\"secret\"\\s*:\\s*\"([^\"]+)\"");

    @TempDir
    Path dataDir;

    @Test
    void shouldFillEveryWelcomeFieldOnEveryTransport() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir)) {
            for (String transport : fixture.server.config().transports().keySet()) {
                TestClient alice = fixture.user(transport, "alice-" + transport).connect();
                Welcome welcome = alice.welcome();
                assertThat(welcome.getSessionId()).as(transport).isNotEmpty();
                assertThat(welcome.getServerTimeMs()).as(transport).isPositive();
                assertThat(welcome.getHeartbeatIntervalMs()).as(transport).isEqualTo(5000);
                assertThat(welcome.getMaxFrameBytes()).as(transport).isEqualTo(TransportSettings.DEFAULT_MAX_FRAME_BYTES);
                assertThat(welcome.getUser()).as(transport).isEqualTo("alice-" + transport);
                assertThat(welcome.getDevice()).as(transport).isEqualTo("1");
                alice.disconnect();
            }
        }
    }

    @Test
    void shouldAnswerAFrameWithNoBodyBeforeHelloWithMalformedFrame() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir)) {
            for (String transport : fixture.server.config().transports().keySet()) {
                TestClient mallory = fixture.user(transport, "mallory").connectOnly();
                mallory.raw(Frame.getDefaultInstance());
                Error error = mallory.errors.poll(TestClient.TIMEOUT_SECONDS, SECONDS);
                assertThat(error).as(transport).isNotNull();
                assertThat(error.getCode()).as(transport).isEqualTo(Error.Code.MALFORMED_FRAME);
                assertThat(error.getFatal()).as(transport).isTrue();
                mallory.closedFuture().get(TestClient.TIMEOUT_SECONDS, SECONDS);
            }
        }
    }

    @Test
    void shouldRefuseASendWhoseDeliverWouldNotFitTheFrameLimit() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir)) {
            TestClient alice = fixture.user("alice").connect();
            // The payload is at its limit and the frame under max-frame-bytes, but the Deliver it
            // becomes (plus sender, device, id and time) would not be.
            Frame big = Frame.newBuilder().setSend(io.courier.transport.proto.Send.newBuilder()
                .setClientMessageId("too-big-to-deliver").setRecipient("bob").setContentType("x".repeat(3_950))
                .setPayload(com.google.protobuf.ByteString.copyFrom(new byte[1_048_576]))).build();
            assertThat(big.getSerializedSize()).isLessThan(TransportSettings.DEFAULT_MAX_FRAME_BYTES);
            alice.raw(big);
            Error error = alice.errors.poll(TestClient.TIMEOUT_SECONDS, SECONDS);
            assertThat(error).isNotNull();
            assertThat(error.getCode()).isEqualTo(Error.Code.PAYLOAD_TOO_LARGE);
            assertThat(error.getFatal()).isFalse();
            alice.send("bob", "small", "still fine");
            org.awaitility.Awaitility.await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS)
                .until(() -> alice.serverIdOf("small") > 0);
            assertThat(alice.serverIdOf("too-big-to-deliver")).as("never accepted").isLessThanOrEqualTo(0);
        }
    }

    /**
     * Idle limit 3 x 200 ms, polls held 300 ms: a client that only polls goes through many idle
     * intervals without a heartbeat and keeps its session. Counted in polls answered, not waited.
     */
    @Test
    void shouldKeepALongPollingSessionThatOnlyPolls() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir, "router.heartbeat-interval-ms=200",
            "router.missed-heartbeats=3", "transports.longpoll.options.poll-timeout-ms=300")) {
            URI base = fixture.server.address("longpoll");
            HttpClient http = HttpClient.newHttpClient();
            Opened id = open(http, base);
            String hello = "[{\"hello\":{\"user\":\"alice\",\"token\":\"" + fixture.token("alice") + "\"}}]";
            assertThat(post(http, base, id, hello).statusCode()).isEqualTo(204);
            long cursor = 0;
            List<Frame> seen = new ArrayList<>();
            int emptyPolls = 0;
            // 8 empty polls of 300 ms each span four idle limits of 600 ms.
            for (int polls = 0; emptyPolls < 8 && polls < 100; polls++) {
                HttpResponse<String> poll = http.send(HttpRequest.newBuilder(
                    URI.create(base + "/sessions/" + id.id() + "/poll?cursor=" + cursor))
                    .header(SECRET_HEADER, id.secret()).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
                assertThat(poll.statusCode()).as("poll %d: %s", polls, poll.body()).isEqualTo(200);
                List<Frame> frames = parse(poll.body());
                if (frames.isEmpty()) {
                    emptyPolls++;
                }
                seen.addAll(frames);
                cursor = Long.parseLong(poll.headers().firstValue("X-Courier-Cursor").orElseThrow());
            }
            assertThat(seen).as("only the welcome, no IDLE_TIMEOUT").hasSize(1);
            assertThat(seen.get(0).hasWelcome()).isTrue();
            assertThat(emptyPolls).isEqualTo(8);
            String send = "[{\"send\":{\"clientMessageId\":\"after-idle\",\"recipient\":\"bob\",\"payload\":\"aGk=\"}}]";
            assertThat(post(http, base, id, send).statusCode()).as("the session is still there").isEqualTo(204);
            HttpResponse<String> accepted = http.send(HttpRequest.newBuilder(
                URI.create(base + "/sessions/" + id.id() + "/poll?cursor=" + cursor))
                .header(SECRET_HEADER, id.secret()).GET().build(),
                HttpResponse.BodyHandlers.ofString());
            assertThat(parse(accepted.body())).singleElement()
                .satisfies(f -> assertThat(f.getAccepted().getClientMessageId()).isEqualTo("after-idle"));
        }
    }

    @Test
    void shouldRefuseAPollTimeoutThatALongPollingClientWouldBeClosedWhileWaiting() {
        assertThatThrownBy(() -> new ServerFixture(dataDir, "transports.longpoll.options.poll-timeout-ms=15000"))
            .hasMessageContaining("poll-timeout-ms").hasMessageContaining("15000")
            .hasMessageContaining("router.heartbeat-interval-ms");
    }

    private static final String SECRET_HEADER = "X-Courier-Session-Secret";

    /** A long-polling session: its id, for URLs, and its secret, for the header every request carries. */
    private record Opened(String id, String secret) {
    }

    private static Opened open(HttpClient http, URI base) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(base + "/sessions?format=json"))
            .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        Matcher id = SESSION.matcher(response.body());
        Matcher secret = SECRET.matcher(response.body());
        assertThat(id.find() && secret.find()).as(response.body()).isTrue();
        return new Opened(id.group(1), secret.group(1));
    }

    private static HttpResponse<String> post(HttpClient http, URI base, Opened id, String json) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + "/sessions/" + id.id() + "/frames"))
            .header(SECRET_HEADER, id.secret())
            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build(),
            HttpResponse.BodyHandlers.ofString());
    }

    /** A JSON array of frames, split at the top level. */
    private static List<Frame> parse(String body) throws Exception {
        List<Frame> frames = new ArrayList<>();
        int depth = 0;
        int start = -1;
        boolean inString = false;
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{') {
                if (depth++ == 0) {
                    start = i;
                }
            } else if (c == '}' && --depth == 0) {
                Frame.Builder frame = Frame.newBuilder();
                JsonFormat.parser().merge(body.substring(start, i + 1), frame);
                frames.add(frame.build());
            }
        }
        return frames;
    }
}
