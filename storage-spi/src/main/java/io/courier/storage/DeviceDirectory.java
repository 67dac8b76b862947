package io.courier.storage;

import java.util.List;

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
}
