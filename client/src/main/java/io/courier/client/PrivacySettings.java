package io.courier.client;

import java.util.List;
import java.util.Objects;

/**
 * This user's presence privacy as the server stores it (for all the user's devices).
 *
 * @param visibility who may see this user's presence
 * @param contacts   the contact list, sorted
 */
public record PrivacySettings(PresenceVisibility visibility, List<String> contacts) {

    public PrivacySettings {
        Objects.requireNonNull(visibility, "visibility");
        contacts = List.copyOf(contacts);
    }
}
