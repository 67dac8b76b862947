package io.courier.router.internal;

import io.courier.storage.DeviceId;
import io.courier.storage.KeyStore;
import io.courier.storage.KeyBundle;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which devices of a user have published a key bundle, and with which identity key, cached for the
 * {@link StorageWriter}: it checks every end-to-end encrypted send against these, and must not
 * read the key store per send. The storage reader keeps them up to date as bundles are published
 * and fetched.
 *
 * <p>Consistency: bundles are never removed, so a user's devices only grow. A publish or fetch
 * adds what it stored or read <em>before</em> it is answered ({@link #published}, {@link #seen}),
 * so every send staged after a client has that answer is checked against at least the devices it
 * showed. Only a publish replaces a device's identity key; a fetch adds devices the cache lacks and
 * never overwrites a key, so a fetch that read the store before a racing publish cannot bring the
 * old key back. A miss loads the user from the store inside {@link ConcurrentHashMap#computeIfAbsent};
 * a change that races with that load waits for it (the map holds the entry's lock while loading)
 * and is applied on top, so a load that read the store before a publish cannot hide the published
 * device or key. Loading blocks on the store: only the writer and reader threads call in here,
 * never an I/O thread.
 *
 * <p>Bounded: above {@link #LIMIT} users the cache is emptied and refilled from the store as sends
 * need it.
 */
public final class BundleDevices {

    static final int LIMIT = 100_000;

    private final KeyStore keys;
    private final ConcurrentHashMap<String, SortedMap<String, byte[]>> byUser = new ConcurrentHashMap<>();

    public BundleDevices(KeyStore keys) {
        this.keys = keys;
    }

    /**
     * The devices of {@code user} with a bundle, sorted, each with its Ed25519 identity key (not to
     * be changed by the caller); reads the store on a miss. May block.
     */
    public SortedMap<String, byte[]> of(String user) {
        SortedMap<String, byte[]> devices = byUser.get(user);
        if (devices != null) {
            return devices;
        }
        if (byUser.size() >= LIMIT) {
            byUser.clear();
        }
        return byUser.computeIfAbsent(user, u -> {
            TreeMap<String, byte[]> loaded = new TreeMap<>();
            keys.bundles(u).forEach((device, bundle) -> loaded.put(device, bundle.identityKey()));
            // Most users of a busy node have published nothing: they share one empty map.
            return loaded.isEmpty() ? Collections.emptySortedMap() : Collections.unmodifiableSortedMap(loaded);
        });
    }

    /**
     * Notes that {@code bundles} of {@code user}'s devices are in the store (just read by a fetch):
     * devices the cache lacks are added, known ones keep their key. Call after the store call and
     * before answering it. Never blocks on the store, only on a load of the same user under way.
     */
    public void seen(String user, Map<String, KeyBundle> bundles) {
        byUser.computeIfPresent(user, (u, known) -> {
            if (known.keySet().containsAll(bundles.keySet())) {
                return known;
            }
            TreeMap<String, byte[]> grown = new TreeMap<>(known);
            bundles.forEach((device, bundle) -> grown.putIfAbsent(device, bundle.identityKey()));
            return Collections.unmodifiableSortedMap(grown);
        });
    }

    /** Notes that {@code device} just published a bundle with {@code identityKey}, replacing any key it had. */
    public void published(DeviceId device, byte[] identityKey) {
        byUser.computeIfPresent(device.user(), (u, known) -> {
            TreeMap<String, byte[]> changed = new TreeMap<>(known);
            changed.put(device.device(), identityKey.clone());
            return Collections.unmodifiableSortedMap(changed);
        });
    }
}
