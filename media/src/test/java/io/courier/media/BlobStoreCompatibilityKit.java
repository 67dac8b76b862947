package io.courier.media;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every blob store must do, through the media service and real HTTP: a slot's upload URL
 * takes exactly the slot's blob and its download URL gives it back (also in ranges), URLs cannot
 * be used for the other method or another object, and cleanup keeps referenced blobs and removes
 * the rest after {@code media.unreferenced-ttl-ms}. A store's test extends this and opens the
 * store.
 */
public abstract class BlobStoreCompatibilityKit {

    @TempDir
    protected Path dataDir;

    protected final HttpClient http = HttpClient.newHttpClient();
    /** Starts at the real time: a store may date objects by its own clock (S3 does). */
    protected final TestClock clock = new TestClock(Instant.now());
    protected MediaService media;

    /** Opens the store under test, dating what it dates by {@code clock} where it can. */
    protected abstract BlobStore open(Path dataDir, Clock clock);

    @BeforeEach
    void startMedia() {
        media = MediaService.start(MediaConfig.defaults(dataDir, 0), open(dataDir, clock), clock, false);
    }

    @AfterEach
    void stopMedia() {
        media.close();
    }

    protected SlotAnswer.Granted slot(String user, String type, byte[] blob) throws Exception {
        SlotAnswer answer = media.slot(user, type, blob.length, sha256(blob));
        assertThat(answer).isInstanceOf(SlotAnswer.Granted.class);
        return (SlotAnswer.Granted) answer;
    }

    protected HttpResponse<String> put(String url, Map<String, String> headers, byte[] body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).PUT(HttpRequest.BodyPublishers.ofByteArray(body));
        headers.forEach(b::header);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    protected HttpResponse<byte[]> get(String url, String range) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url));
        if (range != null) {
            b.header("Range", range);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    protected static byte[] sha256(byte[] data) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }

    protected static String keyOf(SlotAnswer.Granted slot, String user) {
        String path = URI.create(slot.uploadUrl()).getPath();
        return path.substring(path.indexOf("/" + user + "/") + 1);
    }

    @Test
    void shouldTakeTheSlotsBlobAndGiveItBack() throws Exception {
        byte[] blob = "the bytes of a picture".getBytes(StandardCharsets.UTF_8);
        SlotAnswer.Granted slot = slot("alice", "image/jpeg", blob);
        HttpResponse<String> put = put(slot.uploadUrl(), slot.uploadHeaders(), blob);
        assertThat(put.statusCode()).as(put.body()).isBetween(200, 201);

        HttpResponse<byte[]> get = get(slot.downloadUrl(), null);
        assertThat(get.statusCode()).isEqualTo(200);
        assertThat(get.body()).isEqualTo(blob);
        assertThat(media.store().stat(keyOf(slot, "alice"))).hasValueSatisfying(b ->
            assertThat(b.sizeBytes()).isEqualTo(blob.length));
    }

    @Test
    void shouldServeARangeSoDownloadsCanResume() throws Exception {
        byte[] blob = "0123456789abcdefghij".getBytes(StandardCharsets.UTF_8);
        SlotAnswer.Granted slot = slot("alice", "application/octet-stream", blob);
        assertThat(put(slot.uploadUrl(), slot.uploadHeaders(), blob).statusCode()).isBetween(200, 201);

        HttpResponse<byte[]> part = get(slot.downloadUrl(), "bytes=10-");
        assertThat(part.statusCode()).isEqualTo(206);
        assertThat(part.body()).isEqualTo(Arrays.copyOfRange(blob, 10, blob.length));
        assertThat(part.headers().firstValue("Content-Range")).hasValue("bytes 10-19/20");
    }

    @Test
    void shouldNotLetADownloadUrlUpload() throws Exception {
        byte[] blob = "original".getBytes(StandardCharsets.UTF_8);
        SlotAnswer.Granted slot = slot("alice", "text/plain", blob);
        assertThat(put(slot.uploadUrl(), slot.uploadHeaders(), blob).statusCode()).isBetween(200, 201);

        byte[] other = "replaced".getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> refused = put(slot.downloadUrl(), slot.uploadHeaders(), other);
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(get(slot.downloadUrl(), null).body()).isEqualTo(blob);
    }

    @Test
    void shouldNotLetAnUploadUrlDownload() throws Exception {
        byte[] blob = "private".getBytes(StandardCharsets.UTF_8);
        SlotAnswer.Granted slot = slot("alice", "text/plain", blob);
        assertThat(put(slot.uploadUrl(), slot.uploadHeaders(), blob).statusCode()).isBetween(200, 201);

        assertThat(get(slot.uploadUrl(), null).statusCode()).isEqualTo(403);
    }

    @Test
    void shouldRefuseABodyOfAnotherSizeAndKeepNothing() throws Exception {
        byte[] blob = "twelve bytes".getBytes(StandardCharsets.UTF_8);
        SlotAnswer.Granted slot = slot("alice", "text/plain", blob);
        HttpResponse<String> refused = put(slot.uploadUrl(), slot.uploadHeaders(), "eleven byte".getBytes(StandardCharsets.UTF_8));
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(media.store().stat(keyOf(slot, "alice"))).isEmpty();
    }

    @Test
    void shouldGiveEverySlotItsOwnUnguessableNameUnderTheUploader() throws Exception {
        byte[] blob = "same bytes".getBytes(StandardCharsets.UTF_8);
        String first = keyOf(slot("alice", "text/plain", blob), "alice");
        String second = keyOf(slot("alice", "text/plain", blob), "alice");
        assertThat(first).startsWith("alice/").isNotEqualTo(second);
        // 16 random bytes in base64url without padding: 22 characters, 128 bits.
        assertThat(first.substring("alice/".length())).matches("[A-Za-z0-9_-]{22}");
    }

    @Test
    void shouldRemoveUnreferencedBlobsAfterTheTtlAndKeepReferencedOnes() throws Exception {
        byte[] blob = "kept or not".getBytes(StandardCharsets.UTF_8);
        SlotAnswer.Granted kept = slot("alice", "text/plain", blob);
        SlotAnswer.Granted dropped = slot("alice", "text/plain", blob);
        assertThat(put(kept.uploadUrl(), kept.uploadHeaders(), blob).statusCode()).isBetween(200, 201);
        assertThat(put(dropped.uploadUrl(), dropped.uploadHeaders(), blob).statusCode()).isBetween(200, 201);
        // A message by someone else naming alice's blob does not keep it: only its uploader's does.
        media.referenced("mallory", dropped.downloadUrl());
        media.referenced("alice", kept.downloadUrl());

        assertThat(media.sweep()).isZero();
        clock.advance(Duration.ofMillis(MediaConfig.defaults(dataDir, 0).unreferencedTtlMs()).plusMinutes(1));
        // At least that one (a store shared between tests may hold others' leftovers too).
        assertThat(media.sweep()).isPositive();

        assertThat(media.store().stat(keyOf(kept, "alice"))).isPresent();
        assertThat(media.store().stat(keyOf(dropped, "alice"))).isEmpty();
    }
}
