package io.courier.client.internal;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.courier.client.CourierMediaException;
import io.courier.client.Media;
import io.courier.transport.proto.MediaSlot;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SDK's HTTP side against an HTTP server on loopback that answers as a presigned-URL service
 * does: headers of the slot on the PUT, Range on the GET, a connection cut in the middle.
 */
class MediaTransfersTest {

    @TempDir
    Path dir;

    private HttpServer http;
    private MediaTransfers transfers;
    private final Map<String, byte[]> uploads = new ConcurrentHashMap<>();
    private final List<String> ranges = new CopyOnWriteArrayList<>();
    private final List<Map<String, List<String>>> putHeaders = new CopyOnWriteArrayList<>();
    private final AtomicInteger cutAfter = new AtomicInteger(-1);

    @BeforeEach
    void start() throws IOException {
        http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        http.createContext("/blob/", this::handle);
        http.start();
        transfers = new MediaTransfers("test");
    }

    @AfterEach
    void stop() {
        transfers.close();
        http.stop(0);
    }

    private void handle(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        if (exchange.getRequestMethod().equals("PUT")) {
            putHeaders.add(Map.copyOf(exchange.getRequestHeaders()));
            uploads.put(path, exchange.getRequestBody().readAllBytes());
            exchange.sendResponseHeaders(201, -1);
            exchange.close();
            return;
        }
        byte[] body = uploads.get(path);
        String range = exchange.getRequestHeaders().getFirst("Range");
        ranges.add(String.valueOf(range));
        int from = range == null ? 0 : Integer.parseInt(range.replaceAll("bytes=(\\d+)-", "$1"));
        exchange.getResponseHeaders().add("Content-Type", "image/png");
        if (from > 0) {
            exchange.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (body.length - 1) + "/" + body.length);
        }
        exchange.sendResponseHeaders(from > 0 ? 206 : 200, body.length - from);
        int cut = cutAfter.getAndSet(-1);
        OutputStream out = exchange.getResponseBody();
        out.write(body, from, cut < 0 ? body.length - from : cut);
        out.flush();
        // With a cut, closing before the announced length was written drops the connection
        // in the middle of the body.
        exchange.close();
    }

    private String base() {
        return "http://127.0.0.1:" + http.getAddress().getPort();
    }

    @Test
    void shouldPutTheFileWithTheSlotsHeadersAndReportItsProgress() throws Exception {
        Path file = file("photo.png", 700_000);
        MediaSlot slot = MediaSlot.newBuilder().setUploadUrl(base() + "/blob/a?sig=1").setDownloadUrl(base() + "/blob/a")
            .putUploadHeaders("Content-Type", "image/png").putUploadHeaders("x-amz-checksum-sha256", "abc")
            .putUploadHeaders("Content-Length", "700000").build();
        List<Long> progress = new CopyOnWriteArrayList<>();

        MediaTransfers.Upload answer = transfers.upload(slot, file, (done, total) -> progress.add(done)).get(30, SECONDS);

        assertThat(answer.status()).isEqualTo(201);
        assertThat(uploads.get("/blob/a")).isEqualTo(Files.readAllBytes(file));
        assertThat(putHeaders.get(0).get("Content-type")).containsExactly("image/png");
        assertThat(putHeaders.get(0).get("X-amz-checksum-sha256")).containsExactly("abc");
        assertThat(progress).isSorted().last().isEqualTo(700_000L);
    }

    @Test
    void shouldResumeAnInterruptedDownloadWithARangeRequestAndVerifyTheWhole() throws Exception {
        byte[] blob = bytes(1_000_000);
        uploads.put("/blob/b", blob);
        Media media = new Media(base() + "/blob/b?sig=2", "image/png", blob.length, sha256(blob), null);
        Path target = dir.resolve("media/received/alice/7.png");
        cutAfter.set(400_000);

        assertThatThrownBy(() -> transfers.download(media, target, (d, t) -> { }).get(30, SECONDS))
            .isInstanceOf(ExecutionException.class).cause().isInstanceOf(CourierMediaException.class)
            .hasMessageContaining("/blob/b").hasMessageNotContaining("sig=2").hasMessageContaining("call download again");
        Path part = target.resolveSibling("7.png.part");
        assertThat(target).doesNotExist();
        assertThat(Files.size(part)).isBetween(1L, 400_000L);
        long kept = Files.size(part);

        Media again = media;
        List<Long> progress = new CopyOnWriteArrayList<>();
        Path got = transfers.download(again, target, (done, total) -> progress.add(done)).get(30, SECONDS);

        assertThat(got).isEqualTo(target).hasBinaryContent(blob);
        assertThat(part).doesNotExist();
        assertThat(ranges).last().isEqualTo("bytes=" + kept + "-");
        assertThat(progress.get(0)).isEqualTo(kept);
    }

    @Test
    void shouldDeleteADownloadWhoseHashDoesNotMatchTheMessage() throws Exception {
        byte[] blob = bytes(50_000);
        uploads.put("/blob/c", blob);
        byte[] otherHash = sha256(bytes(10));
        Media media = new Media(base() + "/blob/c", "image/png", blob.length, otherHash, null);
        Path target = dir.resolve("media/received/alice/8.png");

        assertThatThrownBy(() -> transfers.download(media, target, (d, t) -> { }).get(30, SECONDS))
            .cause().isInstanceOf(CourierMediaException.class).hasMessageContaining("SHA-256")
            .hasMessageContaining("it was deleted");
        assertThat(target).doesNotExist();
        assertThat(target.resolveSibling("8.png.part")).doesNotExist();
    }

    @Test
    void shouldSayWhatTheUrlAnsweredWhenTheDownloadIsRefused() {
        Media media = new Media(base() + "/elsewhere/d?sig=3", "image/png", 10, sha256(bytes(10)), null);

        assertThatThrownBy(() -> transfers.download(media, dir.resolve("x.png"), (d, t) -> { }).get(30, SECONDS))
            .cause().isInstanceOf(CourierMediaException.class).hasMessageContaining("answered 404")
            .hasMessageNotContaining("sig=3");
    }

    private Path file(String name, int size) throws IOException {
        return Files.write(dir.resolve(name), bytes(size));
    }

    private static byte[] bytes(int size) {
        byte[] b = new byte[size];
        new Random(size).nextBytes(b);
        return b;
    }

    private static byte[] sha256(byte[] b) {
        return MediaTransfers.sha256().digest(b);
    }
}
