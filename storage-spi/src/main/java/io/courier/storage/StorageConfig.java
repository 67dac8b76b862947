package io.courier.storage;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * What a backend is opened with.
 *
 * @param dataDirectory where an embedded backend keeps its files.
 * @param options       backend-specific settings (for example a JDBC URL), from the
 *                      {@code storage.options} section of the server configuration.
 */
public record StorageConfig(Path dataDirectory, Map<String, String> options) {

    public StorageConfig {
        Objects.requireNonNull(dataDirectory, "dataDirectory");
        options = Map.copyOf(options);
    }

    /** The option, or {@code fallback} when absent. */
    public String option(String key, String fallback) {
        return options.getOrDefault(key, fallback);
    }
}
