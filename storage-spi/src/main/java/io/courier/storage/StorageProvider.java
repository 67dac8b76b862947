package io.courier.storage;

import io.courier.plugin.PluginOption;
import java.util.List;

/**
 * A storage plug-in, discovered with {@link java.util.ServiceLoader} and selected by
 * {@link #name()} from the {@code storage.backend} configuration key; see
 * {@link StorageProviders#find(String)}.
 *
 * <p>A provider declares the options it reads in {@link #options()}; the Courier server refuses
 * any other key under {@code storage.options}, and any value of the wrong type, before it starts.
 */
public interface StorageProvider {

    /** The name configuration selects this backend by, lower case, e.g. {@code "memory"}. */
    String name();

    /**
     * The options {@link #open} reads from {@link StorageConfig#options()}, each with its default,
     * in the order to document them. Read each with {@link StorageConfig#booleanOption(PluginOption)}
     * and its siblings so the declared default is the one used. None by default.
     */
    default List<PluginOption> options() {
        return List.of();
    }

    /**
     * Opens (creating if needed) the backend.
     *
     * @throws StorageException naming what is wrong: a bad option, an unreachable address, a
     *     locked or unreadable directory.
     */
    StorageBackend open(StorageConfig config);
}
