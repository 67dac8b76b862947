package io.courier.storage;

import java.util.Map;

/** Public key bundles per device. Thread-safe; methods may block. */
public interface KeyStore {

    /** Stores (replaces) the bundle of {@code device}. Durable when it returns. */
    void publish(DeviceId device, KeyBundle bundle);

    /** The bundles of every device of {@code user} that published one, by device id, sorted. */
    Map<String, KeyBundle> bundles(String user);
}
