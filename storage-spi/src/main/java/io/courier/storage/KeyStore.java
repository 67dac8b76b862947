package io.courier.storage;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Public key bundles per device, and each device's supply of one-time pre-keys. The server stores
 * public keys only.
 *
 * <p>Thread-safe; methods may block. Every method that changes something is atomic and durable
 * (as far as the backend is) when it returns: a crash leaves either all of it or none. In
 * particular {@link #takeOneTimePreKey} hands each key out at most once, however many threads
 * (or, for a shared database, processes) take at the same time.
 */
public interface KeyStore {

    /**
     * Stores (replaces) the bundle of {@code device}, leaving its one-time pre-keys as they are;
     * the same as {@code publish(device, bundle, List.of(), Integer.MAX_VALUE)} but for the answer.
     */
    default void publish(DeviceId device, KeyBundle bundle) {
        publish(device, bundle, List.of(), Integer.MAX_VALUE);
    }

    /**
     * Stores (replaces) the bundle of {@code device} and adds {@code oneTimePreKeys} to its supply,
     * in one atomic step. A key whose id the device already has replaces that key (and a later key
     * of the list one of the same id before it). When the bundle's identity key or X25519 identity
     * key differs from the stored bundle's, the device's whole earlier supply is discarded first:
     * those keys belonged to an identity the device no longer has.
     *
     * @param maxSupply the most one-time pre-keys the device may have afterwards; when the supply
     *                  would be larger, nothing at all is changed.
     * @return the number of one-time pre-keys the device has afterwards, or empty when
     *         {@code maxSupply} refused the publish (nothing changed).
     */
    OptionalInt publish(DeviceId device, KeyBundle bundle, List<OneTimePreKey> oneTimePreKeys, int maxSupply);

    /** The bundles of every device of {@code user} that published one, by device id, sorted. */
    Map<String, KeyBundle> bundles(String user);

    /**
     * Removes one of {@code device}'s one-time pre-keys and returns it, or empty when it has none
     * left (or no bundle). Which key is the backend's choice. Two concurrent calls never return
     * the same key, and a returned key is gone for good once this returns.
     */
    Optional<OneTimePreKey> takeOneTimePreKey(DeviceId device);

    /** How many one-time pre-keys {@code device} has left; 0 when it never published any. */
    int oneTimePreKeyCount(DeviceId device);
}
