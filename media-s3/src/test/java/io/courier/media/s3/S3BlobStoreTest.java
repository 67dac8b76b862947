package io.courier.media.s3;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.media.BlobStore;
import io.courier.media.BlobStoreCompatibilityKit;
import io.courier.media.BlobStoreContext;
import io.courier.media.SlotAnswer;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The s3 store passes the compatibility kit against a real S3-compatible server that verifies
 * signatures; its URLs are S3Presigner's, and the media service runs no HTTP endpoint of its own.
 */
class S3BlobStoreTest extends BlobStoreCompatibilityKit {

    private static final String BUCKET = "courier-media";
    private static Path s3Data;
    private static S3rverProcess s3rver;

    @BeforeAll
    static void startS3rver() throws Exception {
        s3Data = Files.createTempDirectory("s3rver");
        s3rver = S3rverProcess.start(s3Data, BUCKET);
    }

    @AfterAll
    static void stopS3rver() throws Exception {
        if (s3rver != null) {
            s3rver.close();
        }
    }

    @Override
    protected BlobStore open(Path dataDir, Clock clock) {
        return new S3BlobStoreProvider().open(new BlobStoreContext(dataDir, options(S3rverProcess.SECRET), clock));
    }

    private static Map<String, String> options(String secret) {
        return Map.of("bucket", BUCKET, "endpoint", s3rver.endpoint(), "path-style", "true",
            "access-key-id", S3rverProcess.ACCESS_KEY, "secret-access-key", secret);
    }

    @Test
    void shouldHandOutS3PresignedUrlsAndRunNoHttpServiceOfItsOwn() throws Exception {
        SlotAnswer.Granted slot = slot("alice", "image/png", new byte[] {1, 2, 3});
        URI upload = URI.create(slot.uploadUrl());
        assertThat(upload.getPort()).isEqualTo(s3rver.port);
        assertThat(upload.getPath()).startsWith("/" + BUCKET + "/alice/");
        assertThat(upload.getQuery()).contains("X-Amz-Signature=", "X-Amz-Expires=");
        assertThat(slot.downloadUrl()).contains("X-Amz-Signature=");
        assertThat(slot.uploadHeaders()).containsEntry("Content-Type", "image/png")
            .containsKey("x-amz-checksum-sha256");
        assertThat(media.port()).isEqualTo(-1);
    }

    @Test
    void shouldBeRefusedByS3WhenTheUrlIsTamperedWith() throws Exception {
        byte[] blob = "signed for this key".getBytes(StandardCharsets.UTF_8);
        SlotAnswer.Granted slot = slot("alice", "text/plain", blob);
        String elsewhere = slot.uploadUrl().replace("/alice/", "/bob/");
        HttpResponse<String> refused = put(elsewhere, slot.uploadHeaders(), blob);
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(refused.body()).contains("SignatureDoesNotMatch");
    }

    @Test
    void shouldBeRefusedByS3WhenTheContentTypeDiffers() throws Exception {
        byte[] blob = "typed".getBytes(StandardCharsets.UTF_8);
        SlotAnswer.Granted slot = slot("alice", "image/png", blob);
        Map<String, String> headers = new TreeMap<>(slot.uploadHeaders());
        headers.put("Content-Type", "text/html");
        assertThat(put(slot.uploadUrl(), headers, blob).statusCode()).isEqualTo(403);
    }

    @Test
    void shouldFailToSignWithAWrongSecretSoTheServerChecksSignatures() throws Exception {
        // Proves the test server is one that checks: a URL signed with another secret is refused.
        try (BlobStore wrong = new S3BlobStoreProvider().open(new BlobStoreContext(dataDir, options("not-the-secret"),
                clock))) {
            byte[] blob = "x".getBytes(StandardCharsets.UTF_8);
            BlobStore.SlotUrls urls = wrong.presign(new BlobStore.Slot("alice/AAAAAAAAAAAAAAAAAAAAAA", "text/plain",
                blob.length, sha256(blob), clock.instant().plusSeconds(60), clock.instant().plusSeconds(60))).orElseThrow();
            HttpResponse<String> refused = put(urls.uploadUrl().toString(), urls.uploadHeaders(), blob);
            assertThat(refused.statusCode()).isEqualTo(403);
            assertThat(refused.body()).contains("SignatureDoesNotMatch");
        }
    }
}
