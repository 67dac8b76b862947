package io.courier.router.internal;

import io.courier.storage.DeviceId;
import io.courier.storage.KeyBundle;
import io.courier.storage.KeyStore;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Which devices of a user have published a key bundle, cached for the {@link StorageWriter}: it
 * checks every end-to-end encrypted send against this set, and must not read the key store per
 * send. The storage reader keeps it up to date as bundles are published and fetched.
 *
 * <p>Consistency: every key-store access that changes or reveals a user's set of bundles (a
 * publish, a fetch) runs inside {@link ConcurrentHashMap#compute} on that user's entry, and
 * updates the entry in the same step. So by the time a client has the answer to a publish or a
 * fetch, every send staged afterwards sees at least the devices that answer showed; a send staged
 * while a publish is under way sees the set either before it or after it, never a mixture. The
 * price is that the storage call holds the map's lock for that user's bin: only the reader and
 * writer threads call in here, never an I/O thread. Bundles are never removed, so a set only grows.
 *
 * <p>Bounded: above {@link #LIMIT} users the cache is emptied and refilled from the store as sends
 * need it.
 */
public final class BundleDevices {

    static final int LIMIT = 100_000;

    private final KeyStore keys;
    private final ConcurrentHashMap<String, Set<String>> byUser = new ConcurrentHashMap<>();

    public BundleDevices(KeyStore keys) {
        this.keys = keys;
    }

    /** The devices of {@code user} with a bundle, sorted; reads the store on a miss. May block. */
    public Set<String> of(String user) {
        Set<String> devices = byUser.get(user);
        if (devices != null) {
            return devices;
        }
        makeRoom();
        return byUser.computeIfAbsent(user, u -> snapshot(keys.bundles(u).keySet()));
    }

    /**
     * Runs {@code publish}, a key-store write of {@code device}'s bundle, and adds the device to
     * its user's set in the same step. May block.
     */
    public <T> T publish(DeviceId device, java.util.function.Supplier<T> publish) {
        Object[] result = new Object[1];
        byUser.compute(device.user(), (user, devices) -> {
            result[0] = publish.get();
            if (devices == null || devices.contains(device.device())) {
                return devices;
            }
            TreeSet<String> grown = new TreeSet<>(devices);
            grown.add(device.device());
            return Collections.unmodifiableSortedSet(grown);
        });
        @SuppressWarnings("unchecked")
        T answer = (T) result[0];
        return answer;
    }

    /**
     * Reads {@code user}'s bundles from the store and runs {@code fetch} on them (which may take
     * one-time pre-keys), refreshing the user's set from what was read, in one step. May block.
     */
    public <T> T fetch(String user, Function<Map<String, KeyBundle>, T> fetch) {
        Object[] result = new Object[1];
        makeRoom();
        byUser.compute(user, (u, devices) -> {
            Map<String, KeyBundle> bundles = keys.bundles(u);
            result[0] = fetch.apply(bundles);
            return snapshot(bundles.keySet());
        });
        @SuppressWarnings("unchecked")
        T answer = (T) result[0];
        return answer;
    }

    private void makeRoom() {
        if (byUser.size() >= LIMIT) {
            byUser.clear();
        }
    }

    private static Set<String> snapshot(Set<String> devices) {
        return Collections.unmodifiableSortedSet(new TreeSet<>(devices));
    }
}
