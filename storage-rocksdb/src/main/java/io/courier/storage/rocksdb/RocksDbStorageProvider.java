package io.courier.storage.rocksdb;

import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.StorageProvider;
import io.courier.storage.rocksdb.internal.RocksDbBackend;
import java.nio.file.Path;

/**
 * The {@code rocksdb} backend: embedded, durable, the default. Data lives under
 * {@code DATA_DIR/rocksdb} unless the {@code path} option says otherwise.
 *
 * <p>Options ({@code storage.options.*}):
 * <ul>
 *   <li>{@code sync} — {@code true} (default): each group commit is fsynced before single ticks
 *       go out, so acknowledged messages survive a power loss; {@code false}: the write-ahead log is
 *       written to the OS, which survives a process crash ({@code kill -9}) but not a power loss.
 *   <li>{@code path} — the database directory.
 *   <li>{@code block-cache-mb} (64) and {@code write-buffer-mb} (32) — memory bounds.
 * </ul>
 */
public final class RocksDbStorageProvider implements StorageProvider {

    /** The name configuration selects it by. */
    public static final String NAME = "rocksdb";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public StorageBackend open(StorageConfig config) {
        Path path = Path.of(config.option("path", config.dataDirectory().resolve("rocksdb").toString()));
        boolean sync = config.booleanOption("sync", true);
        int blockCacheMb = config.positiveIntOption("block-cache-mb", 64);
        int writeBufferMb = config.positiveIntOption("write-buffer-mb", 32);
        return RocksDbBackend.open(path, sync, blockCacheMb, writeBufferMb);
    }
}
