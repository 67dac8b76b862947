package io.courier.storage;

import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** Finds {@link StorageProvider}s on the class path by name. */
public final class StorageProviders {

    private StorageProviders() {
    }

    /** Every provider on the class path, by name, sorted. */
    public static Map<String, StorageProvider> all() {
        Map<String, StorageProvider> byName = new TreeMap<>();
        for (StorageProvider provider : ServiceLoader.load(StorageProvider.class)) {
            StorageProvider previous = byName.putIfAbsent(provider.name(), provider);
            if (previous != null) {
                throw new IllegalStateException("Two storage backends share the name '" + provider.name() + "': "
                    + previous.getClass().getName() + " and " + provider.getClass().getName());
            }
        }
        return byName;
    }

    /**
     * The provider named {@code name}.
     *
     * @throws IllegalArgumentException naming the unknown backend and listing the known ones.
     */
    public static StorageProvider find(String name) {
        Map<String, StorageProvider> byName = all();
        StorageProvider provider = byName.get(name);
        if (provider == null) {
            throw new IllegalArgumentException(
                "Unknown storage backend '" + name + "' (key storage.backend); available backends: " + byName.keySet());
        }
        return provider;
    }
}
