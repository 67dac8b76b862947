package io.courier.client;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One user's presence as the server shows it to this user: online, or last seen at a time, or
 * unknown. Unknown means the server has never seen the user, or their privacy settings (or this
 * user's own, since presence is shown only mutually) do not let this user see it; the two cannot be
 * told apart, on purpose.
 *
 * @param user     the user it is about
 * @param online   true when a device of the user has a live session on the server
 * @param lastSeen when online, the server's time of the answer; when offline, the user's last
 *                 activity; empty when unknown
 */
public record Presence(String user, boolean online, Optional<Instant> lastSeen) {

    public Presence {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(lastSeen, "lastSeen");
    }

    /** Neither online nor ever seen, as far as this user may know. */
    public boolean unknown() {
        return !online && lastSeen.isEmpty();
    }

    /** The value of a wire {@code Presence}: {@code lastSeenMs} 0 means none. */
    public static Presence of(String user, boolean online, long lastSeenMs) {
        return new Presence(user, online, lastSeenMs > 0 ? Optional.of(Instant.ofEpochMilli(lastSeenMs)) : Optional.empty());
    }
}
