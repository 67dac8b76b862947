package io.courier.storage.rocksdb;

import io.courier.plugin.PluginOption;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.StorageProvider;
import io.courier.storage.rocksdb.internal.RocksDbBackend;
import java.nio.file.Path;
import java.util.List;

/**
 * The {@code rocksdb} backend: embedded, durable, the default. Data lives under
 * {@code DATA_DIR/rocksdb} unless the {@code path} option says otherwise.
 *
 * <p>Options ({@code storage.options.*}, declared in {@link #options()} with their defaults):
 * <ul>
 *   <li>{@code sync} — {@code true}: each group commit is fsynced before single ticks go out, so
 *       acknowledged messages survive a power loss; {@code false}: the write-ahead log is written
 *       to the OS, which survives a process crash ({@code kill -9}) but not a power loss.
 *   <li>{@code path} — the database directory.
 *   <li>{@code block-cache-mb} and {@code write-buffer-mb} — memory bounds.
 * </ul>
 */
public final class RocksDbStorageProvider implements StorageProvider {

    /** The name configuration selects it by. */
    public static final String NAME = "rocksdb";

    /** fsync each group commit. */
    public static final PluginOption SYNC = PluginOption.flag("sync", true,
        "`true`: fsync each group commit before single ticks go out (survives power loss); "
            + "`false`: OS-buffered (survives `kill -9`, not power loss)");
    /** The database directory. */
    public static final PluginOption PATH = PluginOption.text("path", "database directory; `DATA_DIR/rocksdb`");
    /** Block cache size. */
    public static final PluginOption BLOCK_CACHE_MB = PluginOption.positiveInt("block-cache-mb", 64,
        "block cache, MiB");
    /** Write buffer (memtable) size per column family. */
    public static final PluginOption WRITE_BUFFER_MB = PluginOption.positiveInt("write-buffer-mb", 32,
        "write buffer per column family, MiB");

    private static final List<PluginOption> OPTIONS = List.of(SYNC, PATH, BLOCK_CACHE_MB, WRITE_BUFFER_MB);

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<PluginOption> options() {
        return OPTIONS;
    }

    @Override
    public StorageBackend open(StorageConfig config) {
        Path path = Path.of(config.textOption(PATH, config.dataDirectory().resolve("rocksdb").toString()))
            .toAbsolutePath().normalize();
        return RocksDbBackend.open(path, config.booleanOption(SYNC), config.intOption(BLOCK_CACHE_MB),
            config.intOption(WRITE_BUFFER_MB));
    }
}
