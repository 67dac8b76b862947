package io.courier.client;

/**
 * Who may see this user's presence (online status and last seen). It works both ways: a user sees
 * another's presence only when each one's visibility admits the other, so choosing
 * {@link #NOBODY} also hides everyone else's presence from this user.
 */
public enum PresenceVisibility {
    /** Every user; what a user who never chose has. */
    EVERYONE,
    /** Only the users on this user's contact list. */
    CONTACTS,
    /** No one. */
    NOBODY
}
