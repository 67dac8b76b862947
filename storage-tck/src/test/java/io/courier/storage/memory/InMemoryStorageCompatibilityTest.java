package io.courier.storage.memory;

import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.tck.StorageCompatibilityKit;

/** The in-memory backend passes the storage compatibility kit (less what needs durability). */
class InMemoryStorageCompatibilityTest extends StorageCompatibilityKit {

    @Override
    protected StorageBackend open(StorageConfig config) {
        return new InMemoryStorageProvider().open(config);
    }

    @Override
    protected boolean isDurable() {
        return false;
    }
}
