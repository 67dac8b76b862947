package io.courier.media;

import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** Finds {@link BlobStoreProvider}s on the class path by name. */
public final class BlobStores {

    private BlobStores() {
    }

    /** Every provider on the class path, by name, sorted. */
    public static Map<String, BlobStoreProvider> all() {
        Map<String, BlobStoreProvider> byName = new TreeMap<>();
        for (BlobStoreProvider provider : ServiceLoader.load(BlobStoreProvider.class)) {
            BlobStoreProvider previous = byName.putIfAbsent(provider.name(), provider);
            if (previous != null) {
                throw new IllegalStateException("Two blob stores share the name '" + provider.name() + "': "
                    + previous.getClass().getName() + " and " + provider.getClass().getName());
            }
        }
        return byName;
    }

    /**
     * The provider named {@code name}.
     *
     * @throws IllegalArgumentException naming the unknown store and listing the known ones.
     */
    public static BlobStoreProvider find(String name) {
        Map<String, BlobStoreProvider> byName = all();
        BlobStoreProvider provider = byName.get(name);
        if (provider == null) {
            throw new IllegalArgumentException("Unknown blob store '" + name + "' (key media.store); available: "
                + byName.keySet() + (name.equals("s3") ? "; the s3 store needs courier-media-s3 on the class path" : ""));
        }
        return provider;
    }
}
