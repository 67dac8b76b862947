package io.courier.media;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.media.internal.FilesystemBlobStore;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every refused upload or download through the filesystem store gets its status and a reason
 * that says what was wrong, and leaves no file behind; so does an upload cut off half way.
 */
class MediaRefusalTest {

    private static final byte[] BLOB = "twelve bytes".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dataDir;

    private final HttpClient http = HttpClient.newHttpClient();
    private final TestClock clock = new TestClock(Instant.parse("2026-06-01T12:00:00Z"));
    private MediaService media;

    @BeforeEach
    void start() {
        // 30 bytes an hour: two uploads of BLOB fit, a third does not.
        MediaConfig config = MediaConfig.defaults(dataDir, 0).withLimits(1_000, 30, 30);
        media = MediaService.start(config, new FilesystemBlobStore(dataDir.resolve("media"), clock), clock, false);
    }

    @AfterEach
    void stop() {
        media.close();
    }

    @Test
    void shouldRefuseAnExpiredUploadUrl() throws Exception {
        SlotAnswer.Granted slot = slot("alice", "text/plain", BLOB);
        clock.advance(Duration.ofMillis(MediaConfig.defaults(dataDir, 0).uploadExpiryMs()).plusSeconds(1));
        HttpResponse<String> refused = put(slot.uploadUrl(), "text/plain", BLOB);
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(refused.body()).isEqualTo("URL expired at " + Instant.ofEpochMilli(slot.expiresAtMs())
            + "; request a new one\n");
        assertNothingStored();
    }

    @Test
    void shouldRefuseATamperedUrl() throws Exception {
        SlotAnswer.Granted slot = slot("alice", "text/plain", BLOB);
        // A longer expiry, a larger size: any change to what was signed breaks the signature.
        for (String tampered : List.of(slot.uploadUrl().replaceFirst("exp=\\d+", "exp=" + Long.MAX_VALUE),
                slot.uploadUrl().replace("len=12", "len=13"), slot.uploadUrl().replace("type=text%2Fplain", "type=text%2Fhtml"))) {
            assertThat(tampered).isNotEqualTo(slot.uploadUrl());
            HttpResponse<String> refused = put(tampered, "text/plain", BLOB);
            assertThat(refused.statusCode()).isEqualTo(403);
            assertThat(refused.body())
                .isEqualTo("Signature does not match: the URL was altered or was not made by this server\n");
        }
        assertNothingStored();
    }

    @Test
    void shouldRefuseAGetUrlUsedToPutAndAPutUrlUsedToGet() throws Exception {
        SlotAnswer.Granted slot = slot("alice", "text/plain", BLOB);
        HttpResponse<String> asPut = put(slot.downloadUrl(), "text/plain", BLOB);
        assertThat(asPut.statusCode()).isEqualTo(403);
        assertThat(asPut.body()).isEqualTo("Wrong method: this URL is signed for GET and cannot be used to PUT\n");
        assertNothingStored();

        assertThat(put(slot.uploadUrl(), "text/plain", BLOB).statusCode()).isEqualTo(201);
        HttpResponse<String> asGet = http.send(HttpRequest.newBuilder(URI.create(slot.uploadUrl())).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(asGet.statusCode()).isEqualTo(403);
        assertThat(asGet.body()).isEqualTo("Wrong method: this URL is signed for PUT and cannot be used to GET\n");
    }

    @Test
    void shouldRefuseABodyOfTheWrongSize() throws Exception {
        SlotAnswer.Granted slot = slot("alice", "text/plain", BLOB);
        HttpResponse<String> refused = put(slot.uploadUrl(), "text/plain", "eleven byte".getBytes(StandardCharsets.UTF_8));
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(refused.body())
            .isEqualTo("Wrong size: the request declares 11 bytes, the URL is signed for exactly 12 bytes\n");
        assertNothingStored();
    }

    @Test
    void shouldRefuseTheWrongContentType() throws Exception {
        SlotAnswer.Granted slot = slot("alice", "text/plain", BLOB);
        HttpResponse<String> refused = put(slot.uploadUrl(), "text/html", BLOB);
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(refused.body())
            .isEqualTo("Wrong content type: the request says 'text/html', the URL is signed for 'text/plain'\n");
        assertNothingStored();
    }

    @Test
    void shouldRefuseUploadsOverTheUsersHourlyQuota() throws Exception {
        SlotAnswer.Granted first = slot("alice", "text/plain", BLOB);
        SlotAnswer.Granted second = slot("alice", "text/plain", BLOB);
        SlotAnswer.Granted third = slot("alice", "text/plain", BLOB);
        SlotAnswer.Granted bobs = slot("bob", "text/plain", BLOB);
        assertThat(put(first.uploadUrl(), "text/plain", BLOB).statusCode()).isEqualTo(201);
        assertThat(put(second.uploadUrl(), "text/plain", BLOB).statusCode()).isEqualTo(201);
        HttpResponse<String> refused = put(third.uploadUrl(), "text/plain", BLOB);
        assertThat(refused.statusCode()).isEqualTo(413);
        assertThat(refused.body()).isEqualTo("Over quota: user 'alice' may upload 30 bytes per hour "
            + "(media.upload-bytes-per-hour); try again in 3600 s\n");
        // The quota is per user.
        assertThat(put(bobs.uploadUrl(), "text/plain", BLOB).statusCode()).isEqualTo(201);
        assertThat(storedFiles()).hasSize(3);
        assertThat(stagingFiles()).isEmpty();
    }

    @Test
    void shouldRefuseABodyWhoseHashIsNotTheSlotsAndKeepNothing() throws Exception {
        SlotAnswer.Granted slot = slot("alice", "text/plain", BLOB);
        HttpResponse<String> refused = put(slot.uploadUrl(), "text/plain", "TWELVE BYTES".getBytes(StandardCharsets.UTF_8));
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(refused.body()).startsWith("SHA-256 mismatch: the body's SHA-256 is ")
            .endsWith("; nothing was stored\n");
        assertNothingStored();
    }

    @Test
    void shouldTakeEachUploadUrlOnce() throws Exception {
        SlotAnswer.Granted slot = slot("alice", "text/plain", BLOB);
        assertThat(put(slot.uploadUrl(), "text/plain", BLOB).statusCode()).isEqualTo(201);
        HttpResponse<String> again = put(slot.uploadUrl(), "text/plain", BLOB);
        assertThat(again.statusCode()).isEqualTo(409);
        assertThat(again.body()).isEqualTo("Already uploaded: upload URLs are single-use; request a new slot\n");
        assertThat(storedFiles()).hasSize(1);
        assertThat(stagingFiles()).isEmpty();
    }

    @Test
    void shouldKeepNothingOfAnUploadCutOffHalfWay() throws Exception {
        media.close();
        media = MediaService.start(MediaConfig.defaults(dataDir, 0),
            new FilesystemBlobStore(dataDir.resolve("media"), clock), clock, false);
        byte[] blob = new byte[1 << 20];
        SlotAnswer.Granted slot = slot("alice", "application/octet-stream", blob);
        URI url = URI.create(slot.uploadUrl());
        try (Socket socket = new Socket(url.getHost(), url.getPort())) {
            OutputStream out = socket.getOutputStream();
            out.write(("PUT " + url.getRawPath() + "?" + url.getRawQuery() + " HTTP/1.1\r\nHost: " + url.getAuthority()
                + "\r\nContent-Type: application/octet-stream\r\nContent-Length: " + blob.length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            out.write(blob, 0, blob.length / 2);
            out.flush();
            // The half that was sent reaches the staging file before the connection goes.
            await().atMost(Duration.ofSeconds(30)).until(() -> stagingFiles().stream().anyMatch(p -> size(p) > 0));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> stagingFiles().isEmpty());
        assertThat(storedFiles()).isEmpty();
    }

    @Test
    void shouldRemoveStagingFilesLeftByACrashOnceTheUploadUrlHasExpired() throws Exception {
        // What a crash mid-upload leaves: a staging file nobody finishes.
        FilesystemBlobStore store = new FilesystemBlobStore(dataDir.resolve("media"), clock);
        Path left = store.stage("alice/AAAAAAAAAAAAAAAAAAAAAA");
        assertThat(media.sweep()).isZero();
        clock.advance(Duration.ofMillis(MediaConfig.defaults(dataDir, 0).uploadExpiryMs()).plusSeconds(1));
        assertThat(media.sweep()).isEqualTo(1);
        assertThat(left).doesNotExist();
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException gone) {
            return 0;
        }
    }

    private SlotAnswer.Granted slot(String user, String type, byte[] blob) throws Exception {
        SlotAnswer answer = media.slot(user, type, blob.length, MessageDigest.getInstance("SHA-256").digest(blob));
        assertThat(answer).isInstanceOf(SlotAnswer.Granted.class);
        SlotAnswer.Granted granted = (SlotAnswer.Granted) answer;
        assertThat(granted.uploadHeaders()).isEqualTo(Map.of("Content-Type", type));
        return granted;
    }

    private HttpResponse<String> put(String url, String type, byte[] body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", type)
            .PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private void assertNothingStored() throws IOException {
        assertThat(storedFiles()).isEmpty();
        assertThat(stagingFiles()).isEmpty();
    }

    private List<Path> storedFiles() throws IOException {
        return files(dataDir.resolve("media/blobs"));
    }

    private List<Path> stagingFiles() throws IOException {
        return files(dataDir.resolve("media/staging"));
    }

    private static List<Path> files(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).toList();
        }
    }
}
