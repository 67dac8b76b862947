package io.courier.storage.memory;

import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.StorageProvider;

/**
 * The {@code memory} backend: everything on the heap, lost when the process ends. For tests,
 * benchmarks of the rest of the server, and trying Courier out; a single tick from it means
 * "in this process's memory", nothing more.
 */
public final class InMemoryStorageProvider implements StorageProvider {

    /** The name configuration selects it by. */
    public static final String NAME = "memory";

    @Override
    public String name() {
        return NAME;
    }

    /** Opens an empty backend. Ignores the data directory and every option. */
    @Override
    public StorageBackend open(StorageConfig config) {
        return new InMemoryStorageBackend();
    }
}
