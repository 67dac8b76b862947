package io.courier.storage.memory;

import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.StorageProvider;
import java.util.Objects;

/**
 * The {@code memory} backend ({@code storage.backend: memory}): every store on the heap of this
 * process. For tests, benchmarks of the rest of the server, and trying Courier out.
 *
 * <p>Nothing is written anywhere: "durable when it returns" means "in this process's memory", so a
 * single tick from this backend promises nothing across a restart, and closing the backend or
 * restarting the process loses every inbox, de-duplication record, device, last-seen time and key
 * bundle. Use a durable backend ({@code rocksdb}, {@code postgres}) for anything that must survive.
 *
 * <p>Semantics are otherwise exactly those of the storage SPI, certified by the storage
 * compatibility kit (less the close-and-reopen tests). Thread-safe.
 */
public final class InMemoryStorageProvider implements StorageProvider {

    /** The name configuration selects it by. */
    public static final String NAME = "memory";

    @Override
    public String name() {
        return NAME;
    }

    /**
     * Opens a new, empty backend. The data directory is not used and no option is read (it
     * declares none, so the server refuses any); unknown options are ignored. Never throws for a
     * configuration.
     */
    @Override
    public StorageBackend open(StorageConfig config) {
        Objects.requireNonNull(config, "config");
        return new InMemoryStorageBackend();
    }
}
