package io.courier.router.internal;

import io.courier.storage.DeviceId;
import io.courier.storage.KeyStore;
import java.util.Collection;
import java.util.Collections;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which devices of a user have published a key bundle, cached for the {@link StorageWriter}: it
 * checks every end-to-end encrypted send against this set, and must not read the key store per
 * send. The storage reader keeps it up to date as bundles are published and fetched.
 *
 * <p>Consistency: bundles are never removed, so a user's set only grows, and every change is a
 * union. A publish or fetch adds what it stored or read to the cached set <em>before</em> it is
 * answered ({@link #seen}), so every send staged after a client has that answer is checked
 * against at least the devices it showed. A miss loads the set from the store inside
 * {@link ConcurrentHashMap#computeIfAbsent}; an addition that races with that load waits for it
 * (the map holds the entry's lock while loading) and is applied on top, so a load that read the
 * store before a publish cannot hide the published device. Loading blocks on the store: only the
 * writer and reader threads call in here, never an I/O thread.
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
        if (byUser.size() >= LIMIT) {
            byUser.clear();
        }
        return byUser.computeIfAbsent(user, u -> snapshot(keys.bundles(u).keySet()));
    }

    /**
     * Notes that {@code devices} of {@code user} have bundles in the store (just published, or
     * just read by a fetch). Call after the store call and before answering it. Never blocks on
     * the store, only on a load of the same user under way.
     */
    public void seen(String user, Collection<String> devices) {
        byUser.computeIfPresent(user, (u, known) -> {
            if (known.containsAll(devices)) {
                return known;
            }
            TreeSet<String> grown = new TreeSet<>(known);
            grown.addAll(devices);
            return Collections.unmodifiableSortedSet(grown);
        });
    }

    /** {@link #seen} for one device. */
    public void seen(DeviceId device) {
        seen(device.user(), Set.of(device.device()));
    }

    private static Set<String> snapshot(Set<String> devices) {
        return Collections.unmodifiableSortedSet(new TreeSet<>(devices));
    }
}
