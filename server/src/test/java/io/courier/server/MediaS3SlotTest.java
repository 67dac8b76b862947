package io.courier.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.media.s3.S3rverProcess;
import io.courier.transport.proto.MediaSlot;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With {@code media.store: s3} a slot request is answered with S3's own presigned URLs: the blob
 * goes to the S3 server (a real, signature-checking one on loopback) and the server runs no media
 * HTTP endpoint.
 */
class MediaS3SlotTest {

    @TempDir
    Path dir;

    @Test
    void shouldAnswerSlotRequestsWithS3PresignedUrlsThatWork() throws Exception {
        try (S3rverProcess s3 = S3rverProcess.start(Path.of("..", "media-s3", "s3rver"), dir.resolve("s3"), "chat-media");
             ServerFixture fixture = new ServerFixture(dir.resolve("data"), "media.store=s3",
                 "media.options.bucket=chat-media", "media.options.endpoint=" + s3.endpoint(),
                 "media.options.path-style=true", "media.options.access-key-id=" + S3rverProcess.ACCESS_KEY,
                 "media.options.secret-access-key=" + S3rverProcess.SECRET)) {
            assertThat(fixture.server.mediaPort()).isEqualTo(-1);
            TestClient alice = fixture.user("alice").connect();
            byte[] blob = "straight to S3".getBytes(StandardCharsets.UTF_8);
            MediaSlot slot = MediaSlotTest.requestSlot(alice, 1, "image/png", blob);
            assertThat(slot.getUploadUrl()).startsWith(s3.endpoint() + "/chat-media/alice/").contains("X-Amz-Signature=");

            HttpClient http = HttpClient.newHttpClient();
            HttpRequest.Builder put = HttpRequest.newBuilder(URI.create(slot.getUploadUrl()))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(blob));
            slot.getUploadHeadersMap().forEach(put::header);
            HttpResponse<String> stored = http.send(put.build(), HttpResponse.BodyHandlers.ofString());
            assertThat(stored.statusCode()).as(stored.body()).isEqualTo(200);
            HttpResponse<byte[]> got = http.send(HttpRequest.newBuilder(URI.create(slot.getDownloadUrl())).build(),
                HttpResponse.BodyHandlers.ofByteArray());
            assertThat(got.statusCode()).isEqualTo(200);
            assertThat(got.body()).isEqualTo(blob);
        }
    }
}
