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
        String id = open("");
        assertThat(server.connectionCount()).isEqualTo(1);
        // Nobody polls: after session-timeout-ms the server closes it. Polling here would keep it alive.
        await().atMost(15, SECONDS).until(() -> server.connectionCount() == 0);
        assertThat(get("/sessions/" + id + "/poll?cursor=0").statusCode()).isEqualTo(404);
    }

    @Test
    void shouldRefuseACursorFromTheFuture() throws Exception {
        String id = open("");
        HttpResponse<byte[]> poll = get("/sessions/" + id + "/poll?cursor=99");
        assertThat(poll.statusCode()).isEqualTo(400);
        assertThat(single(poll.body()).getError().getText()).contains("future");
    }

    @Test
    void shouldResendWhatTheCursorDidNotAcknowledge() throws Exception {
        String id = open("");
        assertThat(post("/sessions/" + id + "/frames", frames(hello("alice")), LongPollTransportProvider.PROTO)
            .statusCode()).isEqualTo(204);
        HttpResponse<byte[]> first = get("/sessions/" + id + "/poll?cursor=0");
        assertThat(single(first.body()).hasWelcome()).isTrue();
        // The response was "lost": polling again from the same cursor returns the same frame.
        HttpResponse<byte[]> again = get("/sessions/" + id + "/poll?cursor=0");
        assertThat(single(again.body()).hasWelcome()).isTrue();
        assertThat(again.headers().firstValue(LongPollTransportProvider.CURSOR_HEADER))
            .isEqualTo(first.headers().firstValue(LongPollTransportProvider.CURSOR_HEADER));
    }

    @Test
    void shouldRefuseABodyAboveTheMaximumAndCloseTheSessionWithAnError() throws Exception {
        String id = open("");
        HttpResponse<byte[]> response = post("/sessions/" + id + "/frames", rawFrame(new byte[MAX + 1]),
            LongPollTransportProvider.PROTO);
        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(single(response.body()).getError().getCode()).isEqualTo(Error.Code.FRAME_TOO_LARGE);
        Frame queued = single(get("/sessions/" + id + "/poll?cursor=0").body());
        assertThat(queued.getError().getCode()).isEqualTo(Error.Code.FRAME_TOO_LARGE);
        assertThat(queued.getError().getFatal()).isTrue();

        String other = open("");
        HttpResponse<byte[]> huge = post("/sessions/" + other + "/frames", new byte[5 * MAX], LongPollTransportProvider.PROTO);
        assertThat(huge.statusCode()).isEqualTo(413);
    }

    @Test
    void shouldRefuseMalformedProtobufAndJsonBodies() throws Exception {
        String id = open("");
        HttpResponse<byte[]> garbage = post("/sessions/" + id + "/frames", rawFrame(new byte[] {(byte) 0xFF, 1, 2}),
            LongPollTransportProvider.PROTO);
        assertThat(garbage.statusCode()).isEqualTo(400);
        assertThat(single(garbage.body()).getError().getCode()).isEqualTo(Error.Code.MALFORMED_FRAME);

        String json = open("?format=json");
        HttpResponse<byte[]> bad = post("/sessions/" + json + "/frames", "[{\"hello\": nope".getBytes(StandardCharsets.UTF_8),
            LongPollTransportProvider.JSON);
        assertThat(bad.statusCode()).isEqualTo(400);
        Frame.Builder error = Frame.newBuilder();
        JsonFormat.parser().merge(new String(bad.body(), StandardCharsets.UTF_8).replaceAll("^\\[|\\]$", ""), error);
        assertThat(error.getError().getCode()).isEqualTo(Error.Code.MALFORMED_FRAME);
    }

    @Test
    void shouldSpeakJsonToJsonSessions() throws Exception {
        String id = open("?format=json");
        assertThat(post("/sessions/" + id + "/frames", "[{\"hello\":{\"user\":\"alice\"}}]".getBytes(StandardCharsets.UTF_8),
            LongPollTransportProvider.JSON).statusCode()).isEqualTo(204);
        HttpResponse<byte[]> poll = get("/sessions/" + id + "/poll?cursor=0");
        assertThat(poll.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        assertThat(new String(poll.body(), StandardCharsets.UTF_8)).contains("\"welcome\"").contains("alice");
    }

    @Test
    void shouldIgnoreJsonFieldsItDoesNotKnow() throws Exception {
        String id = open("?format=json");
        byte[] body = ("[{\"hello\":{\"user\":\"alice\",\"fromANewerClient\":7},\"futureEnvelopeField\":\"x\"}]")
            .getBytes(StandardCharsets.UTF_8);
        assertThat(post("/sessions/" + id + "/frames", body, LongPollTransportProvider.JSON).statusCode()).isEqualTo(204);
        String answer = new String(get("/sessions/" + id + "/poll?cursor=0").body(), StandardCharsets.UTF_8);
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
        String id = open("");
        CompletableFuture<HttpResponse<byte[]>> older = http.sendAsync(
            HttpRequest.newBuilder(URI.create(base + "/sessions/" + id + "/poll?cursor=0")).GET().build(),
            HttpResponse.BodyHandlers.ofByteArray());
        // The second poll may overtake the first on the way in; either way one of them is answered
        // at once (empty) and the other is held until a frame arrives.
        CompletableFuture<HttpResponse<byte[]>> newer = http.sendAsync(
            HttpRequest.newBuilder(URI.create(base + "/sessions/" + id + "/poll?cursor=0")).GET().build(),
            HttpResponse.BodyHandlers.ofByteArray());
        CompletableFuture.anyOf(older, newer).get(10, SECONDS);
        post("/sessions/" + id + "/frames", frames(hello("alice")), LongPollTransportProvider.PROTO);
        List<HttpResponse<byte[]>> both = List.of(older.get(10, SECONDS), newer.get(10, SECONDS));
        assertThat(both).allSatisfy(r -> assertThat(r.statusCode()).isEqualTo(200));
        assertThat(both).filteredOn(r -> r.body().length == 0).hasSize(1);
        assertThat(both).filteredOn(r -> r.body().length > 0).hasSize(1);
    }

    // ---------------------------------------------------------------- helpers

    private String open(String query) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(base + "/sessions" + query))
            .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(201);
        Matcher m = SESSION.matcher(response.body());
        assertThat(m.find()).isTrue();
        return m.group(1);
    }

    private HttpResponse<byte[]> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private HttpResponse<byte[]> post(String path, byte[] body, String type) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", type)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofByteArray());
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
