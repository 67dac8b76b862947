package io.courier.storage.postgres;

import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.tck.StorageCompatibilityKit;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * PostgreSQL passes the storage compatibility kit against a real server: the one {@code .ci/postgres.sh}
 * starts (the README's test command runs it). Each test gets its own schema, named after its
 * temporary directory, so tests never see each other's data.
 */
class PostgresStorageCompatibilityTest extends StorageCompatibilityKit {

    @Override
    protected StorageBackend open(StorageConfig config) {
        return new PostgresStorageProvider().open(config);
    }

    @Override
    protected StorageConfig config(Path directory) {
        return new StorageConfig(directory, PostgresTestDatabase.options(directory));
    }

    @Override
    protected Optional<Map.Entry<StorageConfig, String>> badConfiguration(Path directory) {
        // Nothing listens on port 1: the error must name the address it tried.
        return Optional.of(Map.entry(new StorageConfig(directory, Map.of(
            "url", "jdbc:postgresql://127.0.0.1:1/courier", "connect-timeout-ms", "1000")),
            "127.0.0.1:1"));
    }
}
