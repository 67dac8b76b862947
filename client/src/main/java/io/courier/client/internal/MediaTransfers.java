package io.courier.client.internal;

import io.courier.client.CourierMediaException;
import io.courier.client.Media;
import io.courier.client.TransferProgress;
import io.courier.transport.proto.MediaSlot;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The HTTP side of media: uploads to a slot's presigned PUT URL and downloads from a presigned GET
 * URL, on threads of their own so the client's thread never waits for a transfer. Bodies stream
 * from and to files; nothing holds a whole blob in memory.
 */
final class MediaTransfers implements AutoCloseable {

    /** Headers {@link HttpClient} sets itself and refuses to be given; the values it sends are the same. */
    private static final Set<String> SET_BY_CLIENT = Set.of("content-length", "host", "connection", "expect",
        "upgrade");
    private static final int BUFFER = 64 * 1024;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(MediaTransfers.class);

    private final ExecutorService pool;
    private final HttpClient http;

    MediaTransfers(String name) {
        AtomicInteger n = new AtomicInteger();
        this.pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "courier-client-media-" + name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        // HTTP/1.1: a cleartext URL gets no h2c upgrade attempt, which S3-compatible servers handle unevenly.
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(pool)
            .connectTimeout(Duration.ofSeconds(10))
            .followRedirects(HttpClient.Redirect.NORMAL).build();
    }

    /** The outcome of a PUT: its status and the start of the answer's body, for the reason. */
    record Upload(int status, String body) {
        boolean ok() {
            return status / 100 == 2;
        }
    }

    /**
     * PUTs {@code file} to the slot's upload URL with the slot's headers, streaming from the file.
     * Completes with the answer, whatever its status; exceptionally only when no answer came.
     */
    CompletableFuture<Upload> upload(MediaSlot slot, Path file, TransferProgress given) {
        TransferProgress progress = guarded(given);
        HttpRequest.Builder request;
        try {
            request = HttpRequest.newBuilder(URI.create(slot.getUploadUrl()))
                .PUT(new Counting(HttpRequest.BodyPublishers.ofFile(file), Files.size(file), progress));
        } catch (IOException e) {
            return CompletableFuture.failedFuture(new CourierMediaException("Cannot read " + file + " to upload it: "
                + e.getMessage(), e));
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(new CourierMediaException("The server's upload URL "
                + withoutQuery(slot.getUploadUrl()) + " is not a URL this client can use: " + e.getMessage(), e));
        }
        for (Map.Entry<String, String> h : slot.getUploadHeadersMap().entrySet()) {
            if (!SET_BY_CLIENT.contains(h.getKey().toLowerCase(Locale.ROOT))) {
                request.header(h.getKey(), h.getValue());
            }
        }
        return http.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString())
            .thenApply(r -> new Upload(r.statusCode(), abbreviate(r.body())));
    }

    /**
     * Downloads {@code media} to {@code target}, resuming from {@code target}'s ".part" file when
     * an earlier download was interrupted (Range request), and verifies size and SHA-256 before
     * the file gets its name. A mismatch deletes what was downloaded.
     */
    CompletableFuture<Path> download(Media media, Path target, TransferProgress progress) {
        return CompletableFuture.supplyAsync(() -> downloadNow(media, target, guarded(progress)), pool);
    }

    /** A callback that throws must not break the transfer it watches. */
    private static TransferProgress guarded(TransferProgress progress) {
        return (done, total) -> {
            try {
                progress.progress(done, total);
            } catch (RuntimeException e) {
                LOG.warn("A media progress callback threw; the transfer goes on", e);
            }
        };
    }

    private Path downloadNow(Media media, Path target, TransferProgress progress) {
        Path part = target.resolveSibling(target.getFileName() + ".part");
        String where = withoutQuery(media.url());
        try {
            Files.createDirectories(target.getParent());
            long have = Files.exists(part) ? Files.size(part) : 0;
            if (have > media.sizeBytes()) {
                Files.delete(part);
                have = 0;
            }
            MessageDigest digest = sha256();
            if (have > 0) {
                try (InputStream in = Files.newInputStream(part)) {
                    byte[] buffer = new byte[BUFFER];
                    for (int n; (n = in.read(buffer)) > 0; ) {
                        digest.update(buffer, 0, n);
                    }
                }
            }
            if (have < media.sizeBytes()) {
                have = fetch(media, where, part, have, digest, progress);
            }
            if (have != media.sizeBytes()) {
                throw new CourierMediaException("The download from " + where + " ended after " + have + " of "
                    + media.sizeBytes() + " bytes; what arrived is kept, call download again to resume");
            }
            byte[] hash = digest.digest();
            if (!MessageDigest.isEqual(hash, media.sha256())) {
                Files.deleteIfExists(part);
                throw new CourierMediaException("The file downloaded from " + where + " has SHA-256 "
                    + HexFormat.of().formatHex(hash) + ", but the message says " + media.sha256Hex()
                    + "; it was deleted (the blob was changed or corrupted on its way)");
            }
            Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return target;
        } catch (IOException e) {
            throw new CourierMediaException("The download from " + where + " to " + target + " failed: " + e
                + "; what arrived is kept, call download again to resume", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CourierMediaException("The download from " + where + " was interrupted; call download again "
                + "to resume", e);
        }
    }

    /** One GET, from byte {@code have} on; returns how many bytes the part file now has. */
    private long fetch(Media media, String where, Path part, long have, MessageDigest digest,
                       TransferProgress progress) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(media.uri()).GET();
        if (have > 0) {
            request.header("Range", "bytes=" + have + "-");
        }
        HttpResponse<InputStream> response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = response.body()) {
            int status = response.statusCode();
            boolean append = status == 206 && have > 0;
            if (status == 200 && have > 0) {
                // The server ignored the Range: start over.
                digest.reset();
                have = 0;
            } else if (status != 200 && !append) {
                throw new CourierMediaException("GET " + where + " answered " + status + ": "
                    + abbreviate(new String(body.readNBytes(2048), StandardCharsets.UTF_8))
                    + (status == 403 ? " (the link may have expired: the sender's server decides how long it works)"
                        : ""));
            }
            progress.progress(have, media.sizeBytes());
            try (OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
                byte[] buffer = new byte[BUFFER];
                for (int n; (n = body.read(buffer)) > 0; ) {
                    if (have + n > media.sizeBytes()) {
                        throw new CourierMediaException("GET " + where + " sent more than the " + media.sizeBytes()
                            + " bytes the message announces; the download was stopped");
                    }
                    out.write(buffer, 0, n);
                    digest.update(buffer, 0, n);
                    have += n;
                    progress.progress(have, media.sizeBytes());
                }
            }
        }
        return have;
    }

    /** Copies {@code from} to {@code to} and returns the copy's SHA-256, in one pass. */
    static byte[] copyAndHash(Path from, Path to) throws IOException {
        MessageDigest digest = sha256();
        Files.createDirectories(to.getParent());
        try (InputStream in = Files.newInputStream(from);
             OutputStream out = Files.newOutputStream(to, StandardOpenOption.CREATE_NEW)) {
            byte[] buffer = new byte[BUFFER];
            for (int n; (n = in.read(buffer)) > 0; ) {
                out.write(buffer, 0, n);
                digest.update(buffer, 0, n);
            }
        }
        return digest.digest();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("This JVM has no SHA-256, which every Java SE runtime must have", e);
        }
    }

    /** A presigned URL without its signature: fit for messages and logs. */
    static String withoutQuery(String url) {
        int q = url.indexOf('?');
        return q < 0 ? url : url.substring(0, q);
    }

    private static String abbreviate(String text) {
        String line = text.strip().replaceAll("\\s+", " ");
        return line.length() <= 300 ? line : line.substring(0, 300) + "...";
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }

    /** A body publisher that reports the bytes it hands on. */
    private static final class Counting implements HttpRequest.BodyPublisher {
        private final HttpRequest.BodyPublisher delegate;
        private final long total;
        private final TransferProgress progress;

        Counting(HttpRequest.BodyPublisher delegate, long total, TransferProgress progress) {
            this.delegate = delegate;
            this.total = total;
            this.progress = progress;
        }

        @Override
        public long contentLength() {
            return delegate.contentLength();
        }

        @Override
        public void subscribe(Flow.Subscriber<? super ByteBuffer> subscriber) {
            delegate.subscribe(new Flow.Subscriber<>() {
                private long done;

                @Override
                public void onSubscribe(Flow.Subscription subscription) {
                    progress.progress(0, total);
                    subscriber.onSubscribe(subscription);
                }

                @Override
                public void onNext(ByteBuffer item) {
                    int n = item.remaining();
                    subscriber.onNext(item);
                    done += n;
                    progress.progress(done, total);
                }

                @Override
                public void onError(Throwable throwable) {
                    subscriber.onError(throwable);
                }

                @Override
                public void onComplete() {
                    subscriber.onComplete();
                }
            });
        }
    }
}
