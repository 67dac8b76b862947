package io.courier.transport;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.Map;

/** Finds {@link TransportProvider}s on the class path by name. */
public final class TransportProviders {

    private TransportProviders() {
    }

    /** Every provider on the class path, by name, sorted. */
    public static Map<String, TransportProvider> all() {
        Map<String, TransportProvider> byName = new TreeMap<>();
        List<String> duplicates = new ArrayList<>();
        for (TransportProvider provider : ServiceLoader.load(TransportProvider.class)) {
            TransportProvider previous = byName.putIfAbsent(provider.name(), provider);
            if (previous != null) {
                duplicates.add(provider.name() + " (" + previous.getClass().getName() + ", "
                    + provider.getClass().getName() + ")");
            }
        }
        if (!duplicates.isEmpty()) {
            throw new IllegalStateException("Two transports share a name: " + duplicates);
        }
        return byName;
    }

    /**
     * The provider named {@code name}.
     *
     * @throws IllegalArgumentException naming the unknown transport and listing the known ones.
     */
    public static TransportProvider find(String name) {
        Map<String, TransportProvider> byName = all();
        TransportProvider provider = byName.get(name);
        if (provider == null) {
            throw new IllegalArgumentException(
                "Unknown transport '" + name + "'; available transports: " + byName.keySet());
        }
        return provider;
    }
}
