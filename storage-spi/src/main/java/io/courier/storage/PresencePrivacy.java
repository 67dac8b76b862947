package io.courier.storage;

import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Who may see a user's presence (online status and last seen), and the user's contact list.
 * Immutable; the contacts are sorted and free of repeats.
 *
 * @param visibility who the user's presence is shown to.
 * @param contacts   the user's contact list: the users {@link Visibility#CONTACTS} admits, and the
 *                   users a contacts subscription watches.
 */
public record PresencePrivacy(Visibility visibility, List<String> contacts) {

    /** A user who never chose: visible to everyone, no contacts. */
    public static final PresencePrivacy DEFAULT = new PresencePrivacy(Visibility.EVERYONE, List.of());

    /** Who may see a user's presence. */
    public enum Visibility {
        /** Every user; the default. */
        EVERYONE,
        /** Only the users on the contact list. */
        CONTACTS,
        /** No one. */
        NOBODY
    }

    public PresencePrivacy {
        Objects.requireNonNull(visibility, "visibility");
        Set<String> sorted = new TreeSet<>(Objects.requireNonNull(contacts, "contacts"));
        contacts = List.copyOf(sorted);
    }

    /** Whether this user's setting lets {@code other} see their presence (the user's half of the mutual rule). */
    public boolean admits(String other) {
        return switch (visibility) {
            case EVERYONE -> true;
            case CONTACTS -> isContact(other);
            case NOBODY -> false;
        };
    }

    /** Whether {@code user} is on the contact list. */
    public boolean isContact(String user) {
        return java.util.Collections.binarySearch(contacts, user) >= 0;
    }
}
