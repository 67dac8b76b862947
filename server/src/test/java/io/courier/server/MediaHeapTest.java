package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.MediaSlot;
import io.courier.transport.proto.MediaSlotRequest;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 200 MiB blob goes up and comes back down through the filesystem store of a server whose heap
 * is capped at {@value #HEAP_MB} MiB: uploads stream to disk and downloads from it, so neither can
 * hold the blob in memory. The heap in use before and after, as the server's own metrics report
 * it, is printed.
 */
class MediaHeapTest {

    private static final int HEAP_MB = 96;
    private static final long SIZE = 200L << 20;
    private static final Pattern HEAP_USED = Pattern.compile("(?m)^jvm_memory_used_bytes\\{area=\"heap\"[^}]*} (\\S+)$");
    private static final Pattern HEAP_MAX = Pattern.compile("(?m)^jvm_memory_max_bytes\\{area=\"heap\"[^}]*} (\\S+)$");

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void shouldUploadAndDownload200MiBWithAHeapFarSmallerThanTheBlob() throws Exception {
        Path blob = dir.resolve("blob.bin");
        byte[] sha;
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (OutputStream out = Files.newOutputStream(blob)) {
            Random random = new Random(12);
            byte[] chunk = new byte[1 << 20];
            for (long written = 0; written < SIZE; written += chunk.length) {
                random.nextBytes(chunk);
                digest.update(chunk);
                out.write(chunk);
            }
        }
        sha = digest.digest();

        try (ServerProcess server = new ServerProcess(dir, "media.max-upload-bytes=" + SIZE)
                .jvm("-Xmx" + HEAP_MB + "m").start();
             TransportClient tcp = TransportProviders.find("tcp").createClient(TransportSettings.of(0))) {
            String token = Main.mint(server.config(), "alice", "*", Duration.ofHours(1));
            TestClient alice = new TestClient(tcp, server.address(), "alice", "1", token).connect();
            alice.raw(Frame.newBuilder().setRequestId(1).setMediaSlotRequest(MediaSlotRequest.newBuilder()
                .setContentType("application/octet-stream").setSizeBytes(SIZE).setSha256(ByteString.copyFrom(sha)))
                .build());
            Frame answer = alice.others.poll(TestClient.TIMEOUT_SECONDS, SECONDS);
            assertThat(answer).isNotNull();
            assertThat(answer.hasMediaSlot()).as(answer.toString()).isTrue();
            MediaSlot slot = answer.getMediaSlot();
            long maxHeap = sum(HEAP_MAX, metrics(server));
            long before = sum(HEAP_USED, metrics(server));

            HttpResponse<String> put = http.send(HttpRequest.newBuilder(URI.create(slot.getUploadUrl()))
                .header("Content-Type", "application/octet-stream").PUT(HttpRequest.BodyPublishers.ofFile(blob)).build(),
                HttpResponse.BodyHandlers.ofString());
            assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
            long afterUpload = sum(HEAP_USED, metrics(server));

            HttpResponse<InputStream> get = http.send(HttpRequest.newBuilder(URI.create(slot.getDownloadUrl())).build(),
                HttpResponse.BodyHandlers.ofInputStream());
            assertThat(get.statusCode()).isEqualTo(200);
            MessageDigest received = MessageDigest.getInstance("SHA-256");
            long count = 0;
            try (InputStream in = new DigestInputStream(get.body(), received)) {
                byte[] buf = new byte[1 << 16];
                for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
                    count += n;
                }
            }
            long afterDownload = sum(HEAP_USED, metrics(server));
            assertThat(count).isEqualTo(SIZE);
            assertThat(received.digest()).isEqualTo(sha);

            System.out.printf("media heap: 200 MiB up and down with -Xmx%dm (max heap %d MiB); heap used before %d MiB,"
                    + " after upload %d MiB (growth %+d MiB), after download %d MiB (growth %+d MiB)%n", HEAP_MB,
                maxHeap >> 20, before >> 20, afterUpload >> 20, (afterUpload - before) >> 20, afterDownload >> 20,
                (afterDownload - before) >> 20);
            // The cap is what bounds it: a server that held the body could not have taken it.
            assertThat(maxHeap).isLessThanOrEqualTo((long) HEAP_MB << 20).isLessThan(SIZE / 2);
            assertThat(afterUpload - before).isLessThan(SIZE / 2);
            assertThat(afterDownload - before).isLessThan(SIZE / 2);
        }
    }

    private String metrics(ServerProcess server) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.adminPort + "/metrics")).build(),
            HttpResponse.BodyHandlers.ofString()).body();
    }

    private static long sum(Pattern metric, String text) {
        Matcher m = metric.matcher(text);
        double total = 0;
        while (m.find()) {
            double v = Double.parseDouble(m.group(1));
            if (v > 0) {
                total += v;
            }
        }
        return (long) total;
    }
}
