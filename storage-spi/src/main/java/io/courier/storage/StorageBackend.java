package io.courier.storage;

/**
 * An open storage backend: the five stores a Courier server needs. Obtained from a
 * {@link StorageProvider}; certified by extending the storage compatibility kit
 * ({@code courier-storage-tck}).
 */
public interface StorageBackend extends AutoCloseable {

    /** The provider name this backend was opened by, e.g. {@code "memory"}. */
    String name();

    MessageStore messages();

    DeviceDirectory devices();

    PresenceStore presence();

    KeyStore keys();

    /** Token revocations, read by the authenticator; see {@link RevocationStore}. */
    RevocationStore revocations();

    /**
     * Flushes and releases everything. Afterwards every method of every store throws
     * {@link StorageException}. Idempotent.
     */
    @Override
    void close();
}
