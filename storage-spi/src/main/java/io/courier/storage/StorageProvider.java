package io.courier.storage;

/**
 * A storage plug-in, discovered with {@link java.util.ServiceLoader} and selected by
 * {@link #name()} from the {@code storage.backend} configuration key; see
 * {@link StorageProviders#find(String)}.
 */
public interface StorageProvider {

    /** The name configuration selects this backend by, lower case, e.g. {@code "memory"}. */
    String name();

    /**
     * Opens (creating if needed) the backend.
     *
     * @throws StorageException naming what is wrong: a bad option, an unreachable address, a
     *     locked or unreadable directory.
     */
    StorageBackend open(StorageConfig config);
}
