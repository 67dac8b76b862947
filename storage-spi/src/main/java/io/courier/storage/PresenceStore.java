package io.courier.storage;

import java.util.Map;
import java.util.OptionalLong;

/**
 * "Last seen" times and presence privacy. The router keeps live activity in memory and writes
 * last-seen times here when users go offline and at a coarse checkpoint, never once per heartbeat.
 *
 * <p>Thread-safe; methods may block.
 */
public interface PresenceStore {

    /** Stores each user's last-seen time (ms since the epoch), keeping the later of old and new. */
    void saveLastSeen(Map<String, Long> lastSeenByUser);

    /** The user's last-seen time, if ever recorded. */
    OptionalLong lastSeen(String user);

    /**
     * Stores {@code user}'s presence privacy, replacing what was there. Durable (as far as the
     * backend is) when it returns.
     */
    void savePrivacy(String user, PresencePrivacy privacy);

    /** {@code user}'s presence privacy, or {@link PresencePrivacy#DEFAULT} if they never saved one. */
    PresencePrivacy privacy(String user);
}
