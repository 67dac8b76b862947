package io.courier.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.media.s3.S3rverProcess;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The 5 MiB image from Alice to Bob with the server on its s3 blob store, against
 * {@code @20minutes/s3rver} on loopback, which checks the presigned URLs' signatures: the SDKs
 * upload to and download from S3 itself, and the chat connections carry only the reference.
 */
class MediaThroughS3Test {

    private static final String BUCKET = "courier-media";

    @TempDir
    Path dir;

    @Test
    void shouldCarryAFiveMebibyteImageThroughS3WhileTheChatConnectionsCarryOnlyItsReference() throws Exception {
        Path image = MediaTransferTest.image(dir.resolve("photo.png"), MediaTransferTest.FIVE_MIB);
        try (S3rverProcess s3 = S3rverProcess.start(Path.of("..", "media-s3", "s3rver"), dir.resolve("s3"), BUCKET);
             TestServer server = new TestServer(dir, "media.store=s3", "media.options.bucket=" + BUCKET,
                 "media.options.endpoint=" + s3.endpoint(), "media.options.path-style=true",
                 "media.options.access-key-id=" + S3rverProcess.ACCESS_KEY,
                 "media.options.secret-access-key=" + S3rverProcess.SECRET).start()) {
            Message arrived = MediaTransferTest.MediaCase.run(server, image, dir, "s3");
            // Presigned by the SDK's S3Presigner: the bytes went to S3, not through the server.
            assertThat(arrived.media().url()).startsWith(s3.endpoint() + "/" + BUCKET + "/")
                .contains("X-Amz-Signature=");
        }
    }
}
