package io.courier.media;

import io.courier.media.internal.MediaHttp;
import io.courier.media.internal.UrlSigner;
import io.courier.media.internal.Windows;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The media service: hands out upload slots (presigned PUT and GET URLs) for blobs, serves the
 * bytes over HTTP for stores that do not serve them themselves, and removes what was uploaded
 * but is not referred to by any message within {@code media.unreferenced-ttl-ms}, plus uploads
 * that never completed. Slots are bound to the uploader: the object's key starts with the user id,
 * and its name is 128 random bits.
 */
public final class MediaService implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(MediaService.class);
    private static final long MINUTE_MS = 60_000;
    private static final long HOUR_MS = 3_600_000;

    private final MediaConfig config;
    private final BlobStore store;
    private final Clock clock;
    private final UrlSigner signer;
    private final Windows slots;
    private final Windows uploadBytes;
    private final Path references;
    private final SecureRandom random = new SecureRandom();
    private final ExecutorService background;
    private Vertx vertx;
    private HttpServer http;
    private URI publicUrl;
    private ScheduledExecutorService cleanupTimer;

    private MediaService(MediaConfig config, BlobStore store, Clock clock) {
        this.config = config;
        this.store = store;
        this.clock = clock;
        Path root = config.dataDirectory().resolve("media");
        this.signer = UrlSigner.fromKeyFile(root.resolve("url-signing.key"));
        this.references = root.resolve("references");
        this.slots = new Windows(config.maxSlotsPerMinute(), MINUTE_MS, clock);
        this.uploadBytes = new Windows(config.uploadBytesPerHour(), HOUR_MS, clock);
        this.background = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "courier-media-references");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Opens the configured store (found by {@code media.store}) and starts the service.
     *
     * @throws IllegalArgumentException naming the key when the store is unknown or an option unusable.
     */
    public static MediaService start(MediaConfig config, Clock clock) {
        BlobStoreProvider provider = BlobStores.find(config.store());
        BlobStore store = provider.open(new BlobStoreContext(config.dataDirectory(), config.storeOptions(), clock));
        try {
            return start(config, store, clock, true);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /**
     * Starts the service on {@code store}, which it closes on {@link #close}.
     *
     * @param timer whether a timer runs {@link #sweep} every {@code media.cleanup-interval-ms}
     *              (tests drive it themselves).
     */
    public static MediaService start(MediaConfig config, BlobStore store, Clock clock, boolean timer) {
        MediaService service = new MediaService(config, store, clock);
        try {
            service.startHttp();
        } catch (RuntimeException e) {
            service.close();
            throw e;
        }
        if (timer) {
            service.cleanupTimer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "courier-media-cleanup");
                t.setDaemon(true);
                return t;
            });
            service.cleanupTimer.scheduleWithFixedDelay(service::sweepLogged, config.cleanupIntervalMs(),
                config.cleanupIntervalMs(), TimeUnit.MILLISECONDS);
        }
        return service;
    }

    private void startHttp() {
        Optional<BlobStore.LocalBlobs> local = store.local();
        if (local.isEmpty()) {
            LOG.info("Media store '{}' presigns its own URLs; the media HTTP service does not run", store.name());
            return;
        }
        vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(2));
        MediaHttp handler = new MediaHttp(vertx, signer, local.get(), uploadBytes, clock);
        // HTTP/1.1 only: an h2c upgrade of a streamed PUT gains nothing and breaks with some clients.
        http = vertx.createHttpServer(new HttpServerOptions().setHost(config.host()).setPort(config.port())
                .setHttp2ClearTextEnabled(false))
            .requestHandler(handler::handle);
        try {
            http.listen().toCompletionStage().toCompletableFuture().get();
        } catch (ExecutionException e) {
            throw new MediaListenException(config.host(), config.port(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while starting the media service", e);
        }
        String base = config.publicUrl() != null ? config.publicUrl().toString()
            : "http://" + config.host() + ":" + http.actualPort();
        publicUrl = URI.create(base.endsWith("/") ? base.substring(0, base.length() - 1) : base);
        LOG.info("Media service on {}:{} (store '{}'), URLs under {}", config.host(), http.actualPort(), store.name(),
            publicUrl);
    }

    /** The media HTTP port (the bound one when configured as 0), or -1 when it does not run. */
    public int port() {
        return http == null ? -1 : http.actualPort();
    }

    /** What the URLs this service signs start with, or null when the store presigns its own. */
    public URI publicUrl() {
        return publicUrl;
    }

    public BlobStore store() {
        return store;
    }

    /**
     * A slot for {@code user} to upload a blob of exactly {@code sizeBytes} bytes of
     * {@code contentType} whose SHA-256 is {@code sha256}; or why not.
     */
    public SlotAnswer slot(String user, String contentType, long sizeBytes, byte[] sha256) {
        if (contentType.isEmpty() || contentType.length() > 255 || !contentType.chars().allMatch(c -> c > 32 && c < 127)) {
            return new SlotAnswer.Refused(SlotAnswer.Reason.INVALID,
                "content_type must be a MIME type of 1-255 printable ASCII characters without spaces", 0);
        }
        if (sizeBytes <= 0) {
            return new SlotAnswer.Refused(SlotAnswer.Reason.INVALID, "size_bytes must be above 0", 0);
        }
        if (sha256.length != 32) {
            return new SlotAnswer.Refused(SlotAnswer.Reason.INVALID,
                "sha256 must be 32 bytes, was " + sha256.length, 0);
        }
        if (sizeBytes > config.maxUploadBytes()) {
            return new SlotAnswer.Refused(SlotAnswer.Reason.TOO_LARGE, "Blob of " + sizeBytes
                + " bytes is above media.max-upload-bytes = " + config.maxUploadBytes(), 0);
        }
        long wait = slots.take(user, 1);
        if (wait > 0) {
            return new SlotAnswer.Refused(SlotAnswer.Reason.RATE_LIMITED, "Above media.max-slots-per-minute = "
                + config.maxSlotsPerMinute() + " for user '" + user + "'; ask again in " + wait + " ms", wait);
        }
        byte[] name = new byte[16];
        random.nextBytes(name);
        String key = user + "/" + UrlSigner.base64Url(name);
        Instant now = clock.instant();
        Instant uploadExpires = now.plusMillis(config.uploadExpiryMs());
        Instant downloadExpires = now.plusMillis(config.downloadExpiryMs());
        Optional<BlobStore.SlotUrls> presigned = store.presign(new BlobStore.Slot(key, contentType, sizeBytes,
            sha256.clone(), uploadExpires, downloadExpires));
        if (presigned.isPresent()) {
            BlobStore.SlotUrls urls = presigned.get();
            return new SlotAnswer.Granted(urls.uploadUrl().toString(), urls.uploadHeaders(),
                urls.downloadUrl().toString(), uploadExpires.toEpochMilli(), downloadExpires.toEpochMilli());
        }
        String path = "/media/" + key;
        String sha = UrlSigner.base64Url(sha256);
        String put = publicUrl + path + "?" + signer.query(new UrlSigner.Signed("PUT", path,
            uploadExpires.toEpochMilli(), sizeBytes, contentType, sha));
        String get = publicUrl + path + "?" + signer.query(new UrlSigner.Signed("GET", path,
            downloadExpires.toEpochMilli(), sizeBytes, contentType, ""));
        return new SlotAnswer.Granted(put, java.util.Map.of("Content-Type", contentType), get,
            uploadExpires.toEpochMilli(), downloadExpires.toEpochMilli());
    }

    /**
     * Tells the service a message from {@code sender} refers to {@code downloadUrl}: when it is
     * one of this service's blobs, uploaded by {@code sender}, cleanup keeps it. Returns at once;
     * the mark is written in the background.
     */
    public void referenced(String sender, String downloadUrl) {
        Optional<String> key = keyOf(downloadUrl);
        if (key.isEmpty() || !key.get().startsWith(sender + "/")) {
            return;
        }
        background.execute(() -> {
            Path marker = references.resolve(key.get());
            try {
                Files.createDirectories(marker.getParent());
                if (!Files.exists(marker)) {
                    Files.createFile(marker);
                }
            } catch (IOException e) {
                LOG.warn("Cannot mark {} as referenced (cleanup may remove it): {}", key.get(), e.toString());
            }
        });
    }

    /** Waits until every {@link #referenced} call so far is written (for tests). */
    public void awaitReferences() {
        try {
            background.submit(() -> { }).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    Optional<String> keyOf(String url) {
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        if (publicUrl != null && url.startsWith(publicUrl + "/media/")) {
            Matcher m = MediaHttp.PATH.matcher(uri.getRawPath());
            return m.matches() ? Optional.of(m.group(1) + "/" + m.group(2)) : Optional.empty();
        }
        return store.keyOf(uri);
    }

    /** Whether a message has referred to blob {@code key}. */
    public boolean isReferenced(String key) {
        return Files.exists(references.resolve(key));
    }

    /**
     * Cleanup, by the injected clock: removes staging files of uploads that never completed (older
     * than the upload expiry), and blobs no message referred to within {@code media.unreferenced-ttl-ms}
     * of their upload. Blocks until done; a timer calls it every {@code media.cleanup-interval-ms}.
     *
     * @return how many files were removed.
     */
    public synchronized int sweep() {
        awaitReferences();
        Instant now = clock.instant();
        int removed = 0;
        Optional<BlobStore.LocalBlobs> local = store.local();
        if (local.isPresent()) {
            for (BlobStore.StoredBlob staged : local.get().staged()) {
                if (staged.storedAt().plusMillis(config.uploadExpiryMs()).isBefore(now)) {
                    local.get().deleteStaged(staged.key());
                    removed++;
                }
            }
        }
        for (BlobStore.StoredBlob blob : store.list()) {
            if (!isReferenced(blob.key()) && !blob.storedAt().plusMillis(config.unreferencedTtlMs()).isAfter(now)) {
                store.delete(blob.key());
                removed++;
            }
        }
        slots.prune();
        uploadBytes.prune();
        if (removed > 0) {
            LOG.info("Media cleanup removed {} abandoned or unreferenced object(s)", removed);
        }
        return removed;
    }

    private void sweepLogged() {
        try {
            sweep();
        } catch (RuntimeException e) {
            LOG.warn("Media cleanup failed; it runs again in {} ms", config.cleanupIntervalMs(), e);
        }
    }

    @Override
    public void close() {
        if (cleanupTimer != null) {
            cleanupTimer.shutdownNow();
        }
        background.shutdown();
        if (vertx != null) {
            try {
                vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                LOG.warn("Media HTTP service did not stop cleanly: {}", e.toString());
            }
        }
        store.close();
    }

    /** The media HTTP service could not bind its address. */
    public static final class MediaListenException extends RuntimeException {
        private final String host;
        private final int port;

        MediaListenException(String host, int port, Throwable cause) {
            super("The media service cannot listen on " + host + ":" + port + ": " + cause.getMessage()
                + "; change media.host / media.port, or stop what listens there", cause);
            this.host = host;
            this.port = port;
        }

        public String host() {
            return host;
        }

        public int port() {
            return port;
        }
    }
}
