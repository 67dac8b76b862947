package io.courier.storage;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which devices each user has: a message to a user goes to each of them. Every user implicitly
 * has the {@link DeviceId#PRIMARY} device.
 *
 * <p>Thread-safe; methods may block.
 */
public interface DeviceDirectory {

    /** Records that {@code device} exists. Idempotent. Durable when it returns. */
    void register(DeviceId device);

    /**
     * The devices of {@code user}, sorted by device id, always including the primary device,
     * never empty.
     */
    List<DeviceId> devices(String user);

    /**
     * {@link #devices} of each of {@code users}, in one map with an entry for every one of them.
     * The router asks once per batch on a store other servers write too (where a device another
     * server registered must be seen), so a backend a network away should answer in one read;
     * the default asks {@link #devices} for each.
     */
    default Map<String, List<DeviceId>> devices(Collection<String> users) {
        Map<String, List<DeviceId>> found = new LinkedHashMap<>();
        for (String user : users) {
            found.computeIfAbsent(user, this::devices);
        }
        return found;
    }
}
