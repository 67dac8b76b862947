package io.courier.storage;

/**
 * A convenience for backends that implement all five stores in one class: the accessors return
 * {@code this}, so such a backend only writes the store methods, {@link #name()} and
 * {@link #close()}.
 */
public interface CombinedStorageBackend
    extends StorageBackend, MessageStore, DeviceDirectory, PresenceStore, KeyStore, RevocationStore {

    @Override
    default MessageStore messages() {
        return this;
    }

    @Override
    default DeviceDirectory devices() {
        return this;
    }

    @Override
    default PresenceStore presence() {
        return this;
    }

    @Override
    default KeyStore keys() {
        return this;
    }

    @Override
    default RevocationStore revocations() {
        return this;
    }
}
