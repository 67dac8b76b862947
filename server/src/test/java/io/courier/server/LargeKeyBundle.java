package io.courier.server;

import io.courier.storage.DeviceId;
import io.courier.storage.KeyBundle;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.rocksdb.RocksDbStorageProvider;
import java.nio.file.Path;
import java.util.Map;

/**
 * Puts a key bundle of nearly a megabyte straight into a data directory's RocksDB store, before
 * the server opens it: tests that need a small request with a large answer fetch it. (A publish
 * over the wire is held to 32-byte keys; the store keeps whatever bytes it is given, and a fetch
 * returns them unchecked.)
 */
final class LargeKeyBundle {

    private LargeKeyBundle() {
    }

    static void store(Path dataDir, String user, int identityKeyBytes) {
        try (StorageBackend storage = new RocksDbStorageProvider().open(new StorageConfig(dataDir, Map.of()))) {
            storage.keys().publish(DeviceId.primary(user),
                new KeyBundle(new byte[identityKeyBytes], new byte[32], new byte[0]));
        }
    }
}
