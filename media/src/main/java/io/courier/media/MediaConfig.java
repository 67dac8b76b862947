package io.courier.media;

import java.net.URI;
import java.nio.file.Path;
import java.util.Map;

/**
 * The media service's configuration ({@code media.*}).
 *
 * @param dataDirectory        where the signing key and the reference markers live.
 * @param host                 address the HTTP service binds ({@code media.host}).
 * @param port                 its port ({@code media.port}, 0 for any free one).
 * @param publicUrl            base of the URLs handed out ({@code media.public-url}); null: {@code http://HOST:PORT}.
 * @param store                the blob store's name ({@code media.store}).
 * @param storeOptions         {@code media.options.*}.
 * @param maxUploadBytes       largest blob ({@code media.max-upload-bytes}).
 * @param uploadExpiryMs       how long an upload URL is valid ({@code media.upload-expiry-ms}).
 * @param downloadExpiryMs     how long a download URL is valid ({@code media.download-expiry-ms}).
 * @param maxSlotsPerMinute    slots one user may request per minute ({@code media.max-slots-per-minute}).
 * @param uploadBytesPerHour   bytes one user may upload per hour ({@code media.upload-bytes-per-hour}).
 * @param unreferencedTtlMs    a blob no message refers to is removed this long after upload
 *                             ({@code media.unreferenced-ttl-ms}).
 * @param cleanupIntervalMs    how often cleanup runs ({@code media.cleanup-interval-ms}).
 */
public record MediaConfig(Path dataDirectory, String host, int port, URI publicUrl, String store,
                          Map<String, String> storeOptions, long maxUploadBytes, long uploadExpiryMs,
                          long downloadExpiryMs, int maxSlotsPerMinute, long uploadBytesPerHour,
                          long unreferencedTtlMs, long cleanupIntervalMs) {
    public MediaConfig {
        storeOptions = Map.copyOf(storeOptions);
    }

    /** The defaults, for {@code dataDirectory}, on {@code port} of 127.0.0.1 with the filesystem store. */
    public static MediaConfig defaults(Path dataDirectory, int port) {
        return new MediaConfig(dataDirectory, "127.0.0.1", port, null, "filesystem", Map.of(), 104_857_600L,
            300_000L, 604_800_000L, 30, 1_073_741_824L, 86_400_000L, 600_000L);
    }

    public MediaConfig withStore(String name, Map<String, String> options) {
        return new MediaConfig(dataDirectory, host, port, publicUrl, name, options, maxUploadBytes, uploadExpiryMs,
            downloadExpiryMs, maxSlotsPerMinute, uploadBytesPerHour, unreferencedTtlMs, cleanupIntervalMs);
    }

    public MediaConfig withLimits(long maxUploadBytes, int maxSlotsPerMinute, long uploadBytesPerHour) {
        return new MediaConfig(dataDirectory, host, port, publicUrl, store, storeOptions, maxUploadBytes, uploadExpiryMs,
            downloadExpiryMs, maxSlotsPerMinute, uploadBytesPerHour, unreferencedTtlMs, cleanupIntervalMs);
    }
}
