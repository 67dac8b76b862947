package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.MediaRef;
import io.courier.transport.proto.MediaSlot;
import io.courier.transport.proto.MediaSlotRequest;
import io.courier.transport.proto.Send;
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
    void shouldNotLetOneUsersUrlsWriteOrReadAnotherObject() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir)) {
            TestClient alice = fixture.user("alice").connect();
            TestClient bob = fixture.user("bob").connect();
            byte[] hers = "alice's photo".getBytes(StandardCharsets.UTF_8);
            byte[] his = "bob's forgery".getBytes(StandardCharsets.UTF_8);
            MediaSlot aliceSlot = requestSlot(alice, 1, "image/png", hers);
            assertThat(put(aliceSlot.getUploadUrl(), "image/png", hers).statusCode()).isEqualTo(201);
            MediaSlot bobSlot = requestSlot(bob, 1, "image/png", his);
            String alicePath = URI.create(aliceSlot.getUploadUrl()).getRawPath();
            String bobPath = URI.create(bobSlot.getUploadUrl()).getRawPath();
            assertThat(bobPath).startsWith("/media/bob/");

            // Bob's upload URL pointed at Alice's object: the signature covers the path.
            HttpResponse<String> overwrite = put(bobSlot.getUploadUrl().replace(bobPath, alicePath), "image/png", his);
            assertThat(overwrite.statusCode()).isEqualTo(403);
            assertThat(overwrite.body())
                .isEqualTo("Signature does not match: the URL was altered or was not made by this server\n");
            // ... nor can it read it, or anything else.
            HttpResponse<String> read = get(bobSlot.getUploadUrl().replace(bobPath, alicePath));
            assertThat(read.statusCode()).isEqualTo(403);
            assertThat(get(bobSlot.getUploadUrl()).statusCode()).isEqualTo(403);

            // Alice's download URL turned into an upload, by anyone: refused, and the object is hers still.
            HttpResponse<String> asPut = put(aliceSlot.getDownloadUrl(), "image/png", his);
            assertThat(asPut.statusCode()).isEqualTo(403);
            assertThat(asPut.body()).isEqualTo("Wrong method: this URL is signed for GET and cannot be used to PUT\n");
            String withHash = aliceSlot.getDownloadUrl().replace("&sig=", "&sha="
                + URI.create(bobSlot.getUploadUrl()).getRawQuery().replaceAll(".*[?&]?sha=([^&]*).*", "$1") + "&sig=");
            assertThat(put(withHash, "image/png", his).statusCode()).isEqualTo(403);
            HttpResponse<byte[]> still = http.send(HttpRequest.newBuilder(URI.create(aliceSlot.getDownloadUrl())).build(),
                HttpResponse.BodyHandlers.ofByteArray());
            assertThat(still.body()).isEqualTo(hers);

            // Bob's own slot still works for exactly his blob, under his own name.
            assertThat(put(bobSlot.getUploadUrl(), "image/png", his).statusCode()).isEqualTo(201);
        }
    }

    @Test
    void shouldKeepABlobAMessageRefersToWhenCleanupRemovesTheUnreferenced() throws Exception {
        MutableClock clock = new MutableClock(java.time.Instant.now());
        try (ServerFixture fixture = new ServerFixture(dataDir, clock, "media.unreferenced-ttl-ms=60000")) {
            TestClient alice = fixture.user("alice").connect();
            byte[] blob = "sent to bob".getBytes(StandardCharsets.UTF_8);
            MediaSlot sent = requestSlot(alice, 1, "image/png", blob);
            MediaSlot abandoned = requestSlot(alice, 2, "image/png", blob);
            assertThat(put(sent.getUploadUrl(), "image/png", blob).statusCode()).isEqualTo(201);
            assertThat(put(abandoned.getUploadUrl(), "image/png", blob).statusCode()).isEqualTo(201);
            alice.raw(Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId("m1").setRecipient("bob")
                .setContentType("image/png").setMedia(MediaRef.newBuilder().setUrl(sent.getDownloadUrl())
                    .setContentType("image/png").setSizeBytes(blob.length)
                    .setSha256(ByteString.copyFrom(MessageDigest.getInstance("SHA-256").digest(blob))))).build());
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(TestClient.TIMEOUT_SECONDS))
                .until(() -> alice.accepted.containsKey("m1"));

            clock.advance(java.time.Duration.ofMinutes(2));
            assertThat(fixture.server.media().sweep()).isEqualTo(1);
            assertThat(get(sent.getDownloadUrl()).statusCode()).isEqualTo(200);
            HttpResponse<String> gone = get(abandoned.getDownloadUrl());
            assertThat(gone.statusCode()).isEqualTo(404);
            assertThat(gone.body()).isEqualTo("No such media object (not uploaded yet, or removed)\n");
        }
    }

    private HttpResponse<String> put(String url, String type, byte[] body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", type)
            .PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
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
