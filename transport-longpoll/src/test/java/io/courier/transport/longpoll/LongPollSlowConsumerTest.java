package io.courier.transport.longpoll;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Send;
import io.courier.transport.tck.EchoRouter;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A long-polling client that keeps POSTing and does not collect what it is sent (it stops
 * polling) is closed with SLOW_CONSUMER once more than {@code max-unread-output-bytes} wait for
 * it: what waited is dropped (nothing in it was acknowledged) and the error is what its next poll
 * gets, then 410.
 */
class LongPollSlowConsumerTest {

    private static final int MAX = 64 * 1024;
    private static final int LIMIT = 512 * 1024;
    private static final Pattern SESSION = Pattern.compile("\"session\"\\s*:\\s*\"([^\"]+)\"");
    private static final Pattern SECRET = Pattern.compile("\"secret\"\\s*:\\s*\"([^\"]+)\"");
    /** The secret of the session {@link #open()} opened last, which every request on it carries. */
    private String secret;

    private final EchoRouter router = new EchoRouter();
    private final HttpClient http = HttpClient.newHttpClient();
    private TransportServer server;
    private URI base;

    @BeforeEach
    void start() {
        server = new LongPollTransportProvider().createServer(new TransportSettings("127.0.0.1", 0, MAX,
            Map.of("max-unread-output-bytes", Integer.toString(LIMIT))), router);
        server.start();
        base = server.address();
    }

    @AfterEach
    void stop() {
        server.close();
        assertThat(router.violations()).isEmpty();
    }

    @Test
    void shouldCloseASessionThatStopsPollingWithSlowConsumer() throws Exception {
        String id = open();
        post(id, frames(hello("mallory")));
        int posts = 0;
        while (!router.transportErrors().contains(Error.Code.SLOW_CONSUMER) && posts < 100) {
            // Each send to herself makes the echo router write an Accepted and a 60 KB Deliver back.
            assertThat(post(id, frames(selfSend(), selfSend(), selfSend()))).isEqualTo(204);
            posts++;
        }
        assertThat(router.transportErrors()).as("after %d POSTs", posts).containsExactly(Error.Code.SLOW_CONSUMER);
        assertThat(server.unreadOutputBytes()).as("what waited was dropped; the error waits").isLessThan(1024);

        HttpResponse<byte[]> poll = poll(id, 0);
        assertThat(poll.statusCode()).isEqualTo(200);
        List<Frame> frames = decode(poll.body());
        assertThat(frames).singleElement().satisfies(frame -> {
            assertThat(frame.getError().getCode()).isEqualTo(Error.Code.SLOW_CONSUMER);
            assertThat(frame.getError().getFatal()).isTrue();
            assertThat(frame.getError().getText()).contains("You stopped reading").contains(Integer.toString(LIMIT))
                .contains("transports.longpoll.options.max-unread-output-bytes");
        });
        long cursor = Long.parseLong(poll.headers().firstValue(LongPollTransportProvider.CURSOR_HEADER).orElseThrow());
        assertThat(poll(id, cursor).statusCode()).as("the session is over").isEqualTo(410);
        await().atMost(10, SECONDS).until(() -> router.closed().size() == 1);
    }

    // ---------------------------------------------------------------- helpers

    private static Frame selfSend() {
        return Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId("m").setRecipient("mallory")
            .setPayload(ByteString.copyFrom(new byte[60_000]))).build();
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

    private int post(String id, byte[] body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + "/sessions/" + id + "/frames"))
            .header(LongPollTransportProvider.SECRET_HEADER, secret).header("Content-Type", LongPollTransportProvider.PROTO).POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private HttpResponse<byte[]> poll(String id, long cursor) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + "/sessions/" + id + "/poll?cursor=" + cursor))
            .header(LongPollTransportProvider.SECRET_HEADER, secret).GET()
            .build(), HttpResponse.BodyHandlers.ofByteArray());
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

    private static List<Frame> decode(byte[] body) throws Exception {
        List<Frame> frames = new ArrayList<>();
        CodedInputStream coded = CodedInputStream.newInstance(body);
        while (!coded.isAtEnd()) {
            frames.add(Frame.parseFrom(coded.readRawBytes(coded.readRawVarint32())));
        }
        return frames;
    }
}
