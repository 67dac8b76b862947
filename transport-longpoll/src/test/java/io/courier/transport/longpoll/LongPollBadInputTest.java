package io.courier.transport.longpoll;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.util.JsonFormat;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.tck.EchoRouter;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Long-polling bad input, driven with plain HTTP requests from the JDK's client. */
class LongPollBadInputTest {

    private static final int MAX = 64 * 1024;
    private static final Pattern SESSION = Pattern.compile("\"session\"\\s*:\\s*\"([^\"]+)\"");
    private static final Pattern SECRET = Pattern.compile("\"secret\"\\s*:\\s*\"([^\"]+)\"");

    private TransportServer server;
    private URI base;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() {
        // Sessions live long enough that no test races their expiry on a loaded machine; the one
        // test of expiry starts a server of its own with a short timeout.
        serve("60000");
    }

    private void serve(String sessionTimeoutMs) {
        server = new LongPollTransportProvider().createServer(new TransportSettings("127.0.0.1", 0, MAX,
            Map.of("poll-timeout-ms", "20000", "session-timeout-ms", sessionTimeoutMs)), new EchoRouter());
        server.start();
        base = server.address();
    }

    @AfterEach
    void stop() throws Exception {
        bystandersStillChat();
        server.close();
    }

    /** Two well-behaved long-polling clients still exchange a message. */
    private void bystandersStillChat() throws Exception {
        try (io.courier.transport.TransportClient client = new LongPollTransportProvider().createClient(TransportSettings.of(0))) {
            java.util.concurrent.BlockingQueue<Frame> daveFrames = new java.util.concurrent.LinkedBlockingQueue<>();
            java.util.concurrent.BlockingQueue<Frame> erinFrames = new java.util.concurrent.LinkedBlockingQueue<>();
            io.courier.transport.ClientConnection dave = client.connect(base, daveFrames::add).get(10, SECONDS);
            io.courier.transport.ClientConnection erin = client.connect(base, erinFrames::add).get(10, SECONDS);
            dave.send(hello("dave"));
            erin.send(hello("erin"));
            assertThat(daveFrames.poll(10, SECONDS).hasWelcome()).isTrue();
            assertThat(erinFrames.poll(10, SECONDS).hasWelcome()).isTrue();
            dave.send(Frame.newBuilder().setSend(io.courier.transport.proto.Send.newBuilder().setClientMessageId("d")
                .setRecipient("erin").setPayload(com.google.protobuf.ByteString.copyFromUtf8("still here"))).build());
            Frame deliver = erinFrames.poll(10, SECONDS);
            assertThat(deliver).isNotNull();
            assertThat(deliver.getDeliver().getPayload().toStringUtf8()).isEqualTo("still here");
            dave.close();
            erin.close();
        }
    }

    @Test
    void shouldAnswerACorsPreflightForBrowsers() throws Exception {
        HttpResponse<String> preflight = http.send(HttpRequest.newBuilder(URI.create(base + "/sessions"))
            .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
            .header("Origin", "https://chat.example")
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(preflight.statusCode()).isBetween(200, 204);
        assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin")).isPresent();
        assertThat(preflight.headers().firstValue("Access-Control-Allow-Methods").orElse("")).contains("POST");
    }

    @Test
    void shouldAnswerUnknownSessionsWith404AndAnError() throws Exception {
        HttpResponse<byte[]> poll = get("/sessions/nope/poll?cursor=0");
        assertThat(poll.statusCode()).isEqualTo(404);
        assertThat(single(poll.body()).getError().getText()).contains("Unknown or expired session");
        assertThat(post("/sessions/nope/frames", frames(hello("a")), LongPollTransportProvider.PROTO).statusCode())
            .isEqualTo(404);
    }

    @Test
    void shouldExpireAnAbandonedSession() throws Exception {
        server.close();
        serve("1500");
        Opened session = open("");
        assertThat(server.connectionCount()).isEqualTo(1);
        // Nobody polls: after session-timeout-ms the server closes it. Polling here would keep it alive.
        await().atMost(15, SECONDS).until(() -> server.connectionCount() == 0);
        assertThat(get("/sessions/" + session.id() + "/poll?cursor=0", session.secret()).statusCode()).isEqualTo(404);
    }

    @Test
    void shouldRefuseACursorFromTheFuture() throws Exception {
        Opened session = open("");
        HttpResponse<byte[]> poll = get("/sessions/" + session.id() + "/poll?cursor=99", session.secret());
        assertThat(poll.statusCode()).isEqualTo(400);
        assertThat(single(poll.body()).getError().getText()).contains("future");
    }

    @Test
    void shouldResendWhatTheCursorDidNotAcknowledge() throws Exception {
        Opened session = open("");
        assertThat(post("/sessions/" + session.id() + "/frames", frames(hello("alice")), LongPollTransportProvider.PROTO,
            session.secret())
            .statusCode()).isEqualTo(204);
        HttpResponse<byte[]> first = get("/sessions/" + session.id() + "/poll?cursor=0", session.secret());
        assertThat(single(first.body()).hasWelcome()).isTrue();
        // The response was "lost": polling again from the same cursor returns the same frame.
        HttpResponse<byte[]> again = get("/sessions/" + session.id() + "/poll?cursor=0", session.secret());
        assertThat(single(again.body()).hasWelcome()).isTrue();
        assertThat(again.headers().firstValue(LongPollTransportProvider.CURSOR_HEADER))
            .isEqualTo(first.headers().firstValue(LongPollTransportProvider.CURSOR_HEADER));
    }

    @Test
    void shouldRefuseABodyAboveTheMaximumAndCloseTheSessionWithAnError() throws Exception {
        Opened session = open("");
        HttpResponse<byte[]> response = post("/sessions/" + session.id() + "/frames", rawFrame(new byte[MAX + 1]),
            LongPollTransportProvider.PROTO, session.secret());
        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(single(response.body()).getError().getCode()).isEqualTo(Error.Code.FRAME_TOO_LARGE);
        Frame queued = single(get("/sessions/" + session.id() + "/poll?cursor=0", session.secret()).body());
        assertThat(queued.getError().getCode()).isEqualTo(Error.Code.FRAME_TOO_LARGE);
        assertThat(queued.getError().getFatal()).isTrue();

        Opened other = open("");
        HttpResponse<byte[]> huge = post("/sessions/" + other.id() + "/frames", new byte[5 * MAX],
            LongPollTransportProvider.PROTO, other.secret());
        assertThat(huge.statusCode()).isEqualTo(413);
    }

    @Test
    void shouldRefuseMalformedProtobufAndJsonBodies() throws Exception {
        Opened session = open("");
        HttpResponse<byte[]> garbage = post("/sessions/" + session.id() + "/frames", rawFrame(new byte[] {(byte) 0xFF, 1, 2}),
            LongPollTransportProvider.PROTO, session.secret());
        assertThat(garbage.statusCode()).isEqualTo(400);
        assertThat(single(garbage.body()).getError().getCode()).isEqualTo(Error.Code.MALFORMED_FRAME);

        Opened jsonSession = open("?format=json");
        HttpResponse<byte[]> bad = post("/sessions/" + jsonSession.id() + "/frames", "[{\"hello\": nope".getBytes(StandardCharsets.UTF_8),
            LongPollTransportProvider.JSON, jsonSession.secret());
        assertThat(bad.statusCode()).isEqualTo(400);
        Frame.Builder error = Frame.newBuilder();
        JsonFormat.parser().merge(new String(bad.body(), StandardCharsets.UTF_8).replaceAll("^\\[|\\]$", ""), error);
        assertThat(error.getError().getCode()).isEqualTo(Error.Code.MALFORMED_FRAME);
    }

    @Test
    void shouldSpeakJsonToJsonSessions() throws Exception {
        Opened session = open("?format=json");
        assertThat(post("/sessions/" + session.id() + "/frames", "[{\"hello\":{\"user\":\"alice\"}}]".getBytes(StandardCharsets.UTF_8),
            LongPollTransportProvider.JSON, session.secret()).statusCode()).isEqualTo(204);
        HttpResponse<byte[]> poll = get("/sessions/" + session.id() + "/poll?cursor=0", session.secret());
        assertThat(poll.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        assertThat(new String(poll.body(), StandardCharsets.UTF_8)).contains("\"welcome\"").contains("alice");
    }

    @Test
    void shouldIgnoreJsonFieldsItDoesNotKnow() throws Exception {
        Opened session = open("?format=json");
        byte[] body = ("[{\"hello\":{\"user\":\"alice\",\"fromANewerClient\":7},\"futureEnvelopeField\":\"x\"}]")
            .getBytes(StandardCharsets.UTF_8);
        assertThat(post("/sessions/" + session.id() + "/frames", body, LongPollTransportProvider.JSON, session.secret())
            .statusCode()).isEqualTo(204);
        String answer = new String(get("/sessions/" + session.id() + "/poll?cursor=0", session.secret()).body(),
            StandardCharsets.UTF_8);
        assertThat(answer).contains("\"welcome\"").contains("alice").doesNotContain("\"error\"");
    }

    @Test
    void shouldAnswerUnknownSessionsInTheFormatTheRequestAskedFor() throws Exception {
        HttpResponse<byte[]> byQuery = get("/sessions/nope/poll?cursor=0&format=json");
        HttpResponse<byte[]> byAccept = http.send(HttpRequest.newBuilder(URI.create(base + "/sessions/nope/poll?cursor=0"))
            .header("Accept", "application/json").GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        HttpResponse<byte[]> byContentType = post("/sessions/nope/frames", "[]".getBytes(StandardCharsets.UTF_8),
            LongPollTransportProvider.JSON);
        for (HttpResponse<byte[]> response : List.of(byQuery, byAccept, byContentType)) {
            assertThat(response.statusCode()).isEqualTo(404);
            assertThat(response.headers().firstValue("Content-Type")).hasValue(LongPollTransportProvider.JSON);
            String text = new String(response.body(), StandardCharsets.UTF_8);
            Frame.Builder error = Frame.newBuilder();
            JsonFormat.parser().merge(text.substring(1, text.length() - 1), error);
            assertThat(error.getError().getText()).contains("Unknown or expired session");
        }
        HttpResponse<byte[]> plain = get("/sessions/nope/poll?cursor=0");
        assertThat(plain.headers().firstValue("Content-Type")).hasValue(LongPollTransportProvider.PROTO);
    }

    @Test
    void shouldAnswerTheOlderOfTwoConcurrentPolls() throws Exception {
        Opened session = open("");
        CompletableFuture<HttpResponse<byte[]>> older = http.sendAsync(
            withSecret(HttpRequest.newBuilder(URI.create(base + "/sessions/" + session.id() + "/poll?cursor=0")), session.secret())
                .GET().build(),
            HttpResponse.BodyHandlers.ofByteArray());
        // The second poll may overtake the first on the way in; either way one of them is answered
        // at once (empty) and the other is held until a frame arrives.
        CompletableFuture<HttpResponse<byte[]>> newer = http.sendAsync(
            withSecret(HttpRequest.newBuilder(URI.create(base + "/sessions/" + session.id() + "/poll?cursor=0")), session.secret())
                .GET().build(),
            HttpResponse.BodyHandlers.ofByteArray());
        CompletableFuture.anyOf(older, newer).get(10, SECONDS);
        post("/sessions/" + session.id() + "/frames", frames(hello("alice")), LongPollTransportProvider.PROTO, session.secret());
        List<HttpResponse<byte[]>> both = List.of(older.get(10, SECONDS), newer.get(10, SECONDS));
        assertThat(both).allSatisfy(r -> assertThat(r.statusCode()).isEqualTo(200));
        assertThat(both).filteredOn(r -> r.body().length == 0).hasSize(1);
        assertThat(both).filteredOn(r -> r.body().length > 0).hasSize(1);
    }

    @Test
    void shouldGiveEverySessionASecretOfAtLeast128RandomBits() throws Exception {
        Opened first = open("");
        Opened second = open("");
        assertThat(java.util.Base64.getUrlDecoder().decode(first.secret())).hasSizeGreaterThanOrEqualTo(16);
        assertThat(first.secret()).isNotEqualTo(second.secret()).isNotEqualTo(first.id());
    }

    @Test
    void shouldRefuseASessionUsedWithoutItsSecretAndLeaveItToItsOwner() throws Exception {
        Opened session = open("");
        assertThat(post("/sessions/" + session.id() + "/frames", frames(hello("alice")), LongPollTransportProvider.PROTO,
            session.secret()).statusCode()).isEqualTo(204);
        String at = "/sessions/" + session.id();

        // A second client that learnt the id (from a URL in a log, say) but not the secret.
        HttpResponse<byte[]> poll = get(at + "/poll?cursor=0");
        HttpResponse<byte[]> send = post(at + "/frames", frames(send("mallory", "as alice")), LongPollTransportProvider.PROTO);
        HttpResponse<byte[]> oversized = post(at + "/frames", rawFrame(new byte[MAX + 1]), LongPollTransportProvider.PROTO);
        HttpResponse<byte[]> end = delete(at, null);
        for (HttpResponse<byte[]> refused : List.of(poll, send, oversized, end)) {
            assertThat(refused.statusCode()).isEqualTo(403);
            assertThat(refused.headers().firstValue("Content-Type")).hasValue(LongPollTransportProvider.PROTO);
            Error error = single(refused.body()).getError();
            assertThat(error.getCode()).isEqualTo(Error.Code.AUTH_FAILED);
            assertThat(error.getText()).contains(LongPollTransportProvider.SECRET_HEADER).contains(session.id());
        }

        // The owner's session is as it was: its welcome still waits at cursor 0, nothing was sent as alice.
        assertThat(server.connectionCount()).isEqualTo(1);
        HttpResponse<byte[]> owners = get(at + "/poll?cursor=0", session.secret());
        assertThat(owners.statusCode()).isEqualTo(200);
        assertThat(single(owners.body()).hasWelcome()).isTrue();
        assertThat(delete(at, session.secret()).statusCode()).isEqualTo(204);
    }

    @Test
    void shouldRefuseAWrongSecretInTheSessionsOwnFormat() throws Exception {
        Opened session = open("?format=json");
        Opened another = open("?format=json");
        String at = "/sessions/" + session.id();
        // Another session's secret, a prefix of the right one, and the right one with a byte changed.
        String changed = (session.secret().charAt(0) == 'A' ? "B" : "A") + session.secret().substring(1);
        for (String wrong : List.of(another.secret(), session.secret().substring(0, 10), changed, "")) {
            HttpResponse<byte[]> poll = get(at + "/poll?cursor=0", wrong);
            assertThat(poll.statusCode()).as(wrong).isEqualTo(403);
            assertThat(poll.headers().firstValue("Content-Type")).hasValue(LongPollTransportProvider.JSON);
            assertThat(singleJson(poll.body()).getError().getCode()).isEqualTo(Error.Code.AUTH_FAILED);
            assertThat(delete(at, wrong).statusCode()).isEqualTo(403);
        }
        // Nor does the secret work in the URL: it belongs in the header, out of logs.
        assertThat(get(at + "/poll?cursor=0&secret=" + session.secret()).statusCode()).isEqualTo(403);

        assertThat(post(at + "/frames", "[{\"hello\":{\"user\":\"alice\"}}]".getBytes(StandardCharsets.UTF_8),
            LongPollTransportProvider.JSON, session.secret()).statusCode()).isEqualTo(204);
        HttpResponse<byte[]> owners = get(at + "/poll?cursor=0", session.secret());
        assertThat(owners.statusCode()).isEqualTo(200);
        assertThat(singleJson(owners.body()).hasWelcome()).isTrue();
    }

    @Test
    void shouldLetBrowsersSendTheSecretHeader() throws Exception {
        HttpResponse<String> preflight = http.send(HttpRequest.newBuilder(URI.create(base + "/sessions/x/poll"))
            .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
            .header("Origin", "https://chat.example")
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "x-courier-session-secret").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(preflight.statusCode()).isBetween(200, 204);
        assertThat(preflight.headers().firstValue("Access-Control-Allow-Headers").orElse("").toLowerCase(java.util.Locale.ROOT))
            .contains("x-courier-session-secret");
    }

    // ---------------------------------------------------------------- helpers

    /** An opened session: its id, for URLs, and its secret, for the header. */
    private record Opened(String id, String secret) {
    }

    private Opened open(String query) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(base + "/sessions" + query))
            .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(201);
        Matcher id = SESSION.matcher(response.body());
        Matcher secret = SECRET.matcher(response.body());
        assertThat(id.find()).as(response.body()).isTrue();
        assertThat(secret.find()).as(response.body()).isTrue();
        return new Opened(id.group(1), secret.group(1));
    }

    private HttpResponse<byte[]> get(String path, String secret) throws Exception {
        return http.send(withSecret(HttpRequest.newBuilder(URI.create(base + path)), secret).GET().build(),
            HttpResponse.BodyHandlers.ofByteArray());
    }

    private HttpResponse<byte[]> get(String path) throws Exception {
        return get(path, null);
    }

    private HttpResponse<byte[]> post(String path, byte[] body, String type, String secret) throws Exception {
        return http.send(withSecret(HttpRequest.newBuilder(URI.create(base + path)), secret).header("Content-Type", type)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private HttpResponse<byte[]> post(String path, byte[] body, String type) throws Exception {
        return post(path, body, type, null);
    }

    private HttpResponse<byte[]> delete(String path, String secret) throws Exception {
        return http.send(withSecret(HttpRequest.newBuilder(URI.create(base + path)), secret).DELETE().build(),
            HttpResponse.BodyHandlers.ofByteArray());
    }

    private static HttpRequest.Builder withSecret(HttpRequest.Builder request, String secret) {
        return secret == null ? request : request.header(LongPollTransportProvider.SECRET_HEADER, secret);
    }

    private static Frame singleJson(byte[] body) throws Exception {
        String text = new String(body, StandardCharsets.UTF_8);
        assertThat(text).startsWith("[").endsWith("]");
        Frame.Builder frame = Frame.newBuilder();
        JsonFormat.parser().merge(text.substring(1, text.length() - 1), frame);
        return frame.build();
    }

    private static Frame send(String recipient, String text) {
        return Frame.newBuilder().setSend(io.courier.transport.proto.Send.newBuilder().setClientMessageId("m")
            .setRecipient(recipient).setPayload(com.google.protobuf.ByteString.copyFromUtf8(text))).build();
    }

    private static Frame hello(String user) {
        return Frame.newBuilder().setHello(Hello.newBuilder().setUser(user)).build();
    }

    private static byte[] frames(Frame... frames) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CodedOutputStream coded = CodedOutputStream.newInstance(out);
        for (Frame frame : frames) {
            coded.writeUInt32NoTag(frame.getSerializedSize());
            frame.writeTo(coded);
        }
        coded.flush();
        return out.toByteArray();
    }

    private static byte[] rawFrame(byte[] bytes) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CodedOutputStream coded = CodedOutputStream.newInstance(out);
        coded.writeUInt32NoTag(bytes.length);
        coded.writeRawBytes(bytes);
        coded.flush();
        return out.toByteArray();
    }

    private static Frame single(byte[] body) throws Exception {
        List<Frame> frames = new ArrayList<>();
        ByteBuffer in = ByteBuffer.wrap(body);
        com.google.protobuf.CodedInputStream coded = com.google.protobuf.CodedInputStream.newInstance(in);
        while (!coded.isAtEnd()) {
            int length = coded.readRawVarint32();
            frames.add(Frame.parseFrom(coded.readRawBytes(length)));
        }
        assertThat(frames).hasSize(1);
        return frames.get(0);
    }
}
