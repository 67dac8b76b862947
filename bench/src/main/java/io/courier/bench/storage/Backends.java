package io.courier.bench.storage;

import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.StorageProviders;
import java.nio.file.Path;
import java.util.Map;

/**
 * The backend variants the storage benchmarks compare, by JMH parameter value:
 * {@code memory}, {@code rocksdb-fsync} (fsync per batch), {@code rocksdb-buffered} (OS-buffered
 * write-ahead log) and {@code postgres} (the server in {@code COURIER_PG_URL}, as {@code ./test.sh}
 * or {@code .ci/postgres.sh} starts it).
 */
final class Backends {

    private Backends() {
    }

    static StorageBackend open(String variant, Path dir) {
        return switch (variant) {
            case "memory" -> open("memory", dir, Map.of());
            case "rocksdb-fsync" -> open("rocksdb", dir, Map.of("sync", "true"));
            case "rocksdb-buffered" -> open("rocksdb", dir, Map.of("sync", "false"));
            case "postgres" -> open("postgres", dir, Map.of(
                "url", env("COURIER_PG_URL", "jdbc:postgresql://127.0.0.1:5432/courier"),
                "user", env("COURIER_PG_USER", "courier"),
                "password", env("COURIER_PG_PASSWORD", "courier"),
                "schema", "bench_" + Long.toUnsignedString(System.nanoTime(), 36)));
            default -> throw new IllegalArgumentException("Unknown backend variant '" + variant
                + "'; use memory, rocksdb-fsync, rocksdb-buffered or postgres");
        };
    }

    private static StorageBackend open(String name, Path dir, Map<String, String> options) {
        return StorageProviders.find(name).open(new StorageConfig(dir, options));
    }

    private static String env(String key, String fallback) {
        String value = System.getenv(key);
        return value == null || value.isBlank() ? fallback : value;
    }
}
