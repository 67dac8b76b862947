package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.MediaSlot;
import io.courier.transport.proto.MediaSlotRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A MediaSlotRequest over the chat connection is answered with presigned URLs that work. */
class MediaSlotTest {

    @TempDir
    Path dataDir;

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void shouldAnswerSlotRequestWithUrlsThatUploadAndDownloadTheBlob() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir)) {
            TestClient alice = fixture.user("alice").connect();
            byte[] blob = "a picture, as far as this test is concerned".getBytes(StandardCharsets.UTF_8);
            MediaSlot slot = requestSlot(alice, 7, "image/png", blob);
            assertThat(slot.getUploadUrl()).startsWith("http://127.0.0.1:" + fixture.server.mediaPort() + "/media/alice/");
            assertThat(slot.getUploadHeadersMap()).containsEntry("Content-Type", "image/png");
            assertThat(slot.getExpiresAtMs()).isGreaterThan(System.currentTimeMillis());
            assertThat(slot.getDownloadExpiresAtMs()).isGreaterThan(slot.getExpiresAtMs());

            HttpResponse<String> put = http.send(HttpRequest.newBuilder(URI.create(slot.getUploadUrl()))
                .header("Content-Type", "image/png").PUT(HttpRequest.BodyPublishers.ofByteArray(blob)).build(),
                HttpResponse.BodyHandlers.ofString());
            assertThat(put.statusCode()).as(put.body()).isEqualTo(201);

            HttpResponse<byte[]> get = http.send(HttpRequest.newBuilder(URI.create(slot.getDownloadUrl())).build(),
                HttpResponse.BodyHandlers.ofByteArray());
            assertThat(get.statusCode()).isEqualTo(200);
            assertThat(get.body()).isEqualTo(blob);
            assertThat(get.headers().firstValue("Content-Type")).hasValue("image/png");
            assertThat(get.headers().firstValue("Access-Control-Allow-Origin")).hasValue("*");

            HttpResponse<byte[]> rest = http.send(HttpRequest.newBuilder(URI.create(slot.getDownloadUrl()))
                .header("Range", "bytes=2-").build(), HttpResponse.BodyHandlers.ofByteArray());
            assertThat(rest.statusCode()).isEqualTo(206);
            assertThat(rest.body()).isEqualTo(Arrays.copyOfRange(blob, 2, blob.length));
            assertThat(rest.headers().firstValue("Content-Range")).hasValue("bytes 2-" + (blob.length - 1) + "/" + blob.length);
        }
    }

    @Test
    void shouldRefuseSlotsAboveTheSizeLimitAndTheSlotRate() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir, "media.max-upload-bytes=100",
                "media.max-slots-per-minute=1")) {
            TestClient alice = fixture.user("alice").connect();
            alice.raw(slotRequest(1, "image/png", new byte[101]));
            Error tooLarge = alice.nextError();
            assertThat(tooLarge.getCode()).isEqualTo(Error.Code.PAYLOAD_TOO_LARGE);
            assertThat(tooLarge.getText()).isEqualTo("Blob of 101 bytes is above media.max-upload-bytes = 100");
            assertThat(tooLarge.getRequestId()).isEqualTo(1);

            requestSlot(alice, 2, "image/png", new byte[10]);
            alice.raw(slotRequest(3, "image/png", new byte[10]));
            Error limited = alice.nextError();
            assertThat(limited.getCode()).isEqualTo(Error.Code.RATE_LIMITED);
            assertThat(limited.getText()).startsWith("Above media.max-slots-per-minute = 1 for user 'alice'");
            assertThat(limited.getRetryAfterMs()).isPositive();
            assertThat(limited.getFatal()).isFalse();
        }
    }

    @Test
    void shouldAnswerUnsupportedWhenMediaIsDisabled() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir, "media.enabled=false")) {
            assertThat(fixture.server.mediaPort()).isEqualTo(-1);
            TestClient bob = fixture.user("bob").connect();
            bob.raw(slotRequest(5, "image/png", new byte[10]));
            Error unsupported = bob.nextError();
            assertThat(unsupported.getCode()).isEqualTo(Error.Code.UNSUPPORTED);
            assertThat(unsupported.getRequestId()).isEqualTo(5);
        }
    }

    static Frame slotRequest(long requestId, String type, byte[] blob) throws Exception {
        return Frame.newBuilder().setRequestId(requestId).setMediaSlotRequest(MediaSlotRequest.newBuilder()
            .setContentType(type).setSizeBytes(blob.length)
            .setSha256(ByteString.copyFrom(MessageDigest.getInstance("SHA-256").digest(blob)))).build();
    }

    static MediaSlot requestSlot(TestClient client, long requestId, String type, byte[] blob) throws Exception {
        client.raw(slotRequest(requestId, type, blob));
        Frame answer = client.others.poll(TestClient.TIMEOUT_SECONDS, SECONDS);
        assertThat(answer).isNotNull();
        assertThat(answer.getRequestId()).isEqualTo(requestId);
        assertThat(answer.hasMediaSlot()).as(answer.toString()).isTrue();
        return answer.getMediaSlot();
    }
}
