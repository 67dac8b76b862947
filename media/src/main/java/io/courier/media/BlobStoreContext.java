package io.courier.media;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/**
 * What a blob store is opened with.
 *
 * @param dataDirectory the server's data directory; a store keeping files locally keeps them under it.
 * @param options       {@code media.options.*} as configured, already checked against the
 *                      store's declared options; absent ones take the declared defaults.
 * @param clock         the time source objects are dated by (a fixed one in tests).
 */
public record BlobStoreContext(Path dataDirectory, Map<String, String> options, Clock clock) {
    public BlobStoreContext {
        options = Map.copyOf(options);
    }
}
