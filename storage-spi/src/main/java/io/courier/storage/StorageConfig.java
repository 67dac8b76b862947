package io.courier.storage;

import io.courier.plugin.PluginOption;
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

    /**
     * The option as {@code true} or {@code false}.
     *
     * @throws StorageException naming {@code storage.options.KEY} and the bad value.
     */
    public boolean booleanOption(String key, boolean fallback) {
        String value = option(key, Boolean.toString(fallback));
        if (!value.equals("true") && !value.equals("false")) {
            throw new StorageException("storage.options." + key + " must be true or false, was '" + value + "'");
        }
        return Boolean.parseBoolean(value);
    }

    /**
     * The option as a positive integer.
     *
     * @throws StorageException naming {@code storage.options.KEY} and the bad value.
     */
    public int positiveIntOption(String key, int fallback) {
        String value = option(key, Integer.toString(fallback));
        try {
            int parsed = Integer.parseInt(value);
            if (parsed > 0) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new StorageException("storage.options." + key + " must be a positive integer, was '" + value + "'");
    }

    /**
     * A declared {@link PluginOption.Type#BOOLEAN} option: its value, or its default when absent.
     *
     * @throws StorageException naming {@code storage.options.NAME} and the bad value.
     */
    public boolean booleanOption(PluginOption option) {
        try {
            return option.booleanIn(options);
        } catch (IllegalArgumentException e) {
            throw badOption(option);
        }
    }

    /**
     * A declared {@link PluginOption.Type#POSITIVE_INTEGER} option with a fixed default.
     *
     * @throws StorageException naming {@code storage.options.NAME} and the bad value.
     */
    public int intOption(PluginOption option) {
        try {
            return option.intIn(options);
        } catch (IllegalArgumentException e) {
            throw badOption(option);
        }
    }

    /**
     * A declared {@link PluginOption.Type#TEXT} option, or {@code computed} when absent and the
     * declaration has no fixed default.
     */
    public String textOption(PluginOption option, String computed) {
        return option.textIn(options, computed);
    }

    private StorageException badOption(PluginOption option) {
        String value = options.get(option.name());
        return new StorageException("storage.options." + option.name() + " " + option.problem(value).orElseThrow()
            + ", was '" + value + "'");
    }
}
