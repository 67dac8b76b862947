package io.courier.storage;

import java.util.Map;
import java.util.OptionalLong;

/**
 * "Last seen" times. The router keeps live activity in memory and writes here on disconnect and at
 * a coalesced interval, never once per heartbeat.
 *
 * <p>Thread-safe; methods may block.
 */
public interface PresenceStore {

    /** Stores each user's last-seen time (ms since the epoch), keeping the later of old and new. */
    void saveLastSeen(Map<String, Long> lastSeenByUser);

    /** The user's last-seen time, if ever recorded. */
    OptionalLong lastSeen(String user);
}
