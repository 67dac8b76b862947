package io.courier.storage.rocksdb;

import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.tck.StorageCompatibilityKit;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/** RocksDB passes the storage compatibility kit, durability included. */
class RocksDbStorageCompatibilityTest extends StorageCompatibilityKit {

    @Override
    protected StorageBackend open(StorageConfig config) {
        return new RocksDbStorageProvider().open(config);
    }

    @Override
    protected Optional<Map.Entry<StorageConfig, String>> badConfiguration(Path directory) {
        return Optional.of(Map.entry(new StorageConfig(directory, Map.of("sync", "sometimes")), "storage.options.sync"));
    }
}
