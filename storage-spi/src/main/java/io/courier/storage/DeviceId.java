package io.courier.storage;

import java.util.Objects;

/**
 * One device of one user: the key of inboxes, sessions and key bundles. A user may have several.
 *
 * @param user   1-64 characters of {@code [A-Za-z0-9._-]}, not starting with a dot.
 * @param device the same syntax; {@link #PRIMARY} for a user's first.
 */
public record DeviceId(String user, String device) implements Comparable<DeviceId> {

    /** The device every user has: messages for a user who never connected wait here. */
    public static final String PRIMARY = "1";

    public DeviceId {
        if (!isValidId(user)) {
            throw new IllegalArgumentException("Invalid user id '" + user + "': " + SYNTAX);
        }
        if (!isValidId(device)) {
            throw new IllegalArgumentException("Invalid device id '" + device + "': " + SYNTAX);
        }
    }

    /** The primary device of {@code user}. */
    public static DeviceId primary(String user) {
        return new DeviceId(user, PRIMARY);
    }

    /** The syntax of user and device ids, for error messages. */
    public static final String SYNTAX = "1-64 characters of [A-Za-z0-9._-], not starting with '.'";

    /**
     * True for {@link #SYNTAX}. A leading dot is refused so that no id is {@code .}, {@code ..} or a
     * hidden name when a backend or the media store uses it as a path component.
     */
    public static boolean isValidId(String id) {
        if (id == null || id.isEmpty() || id.length() > 64 || id.charAt(0) == '.') {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '.' || c == '_' || c == '-';
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int compareTo(DeviceId other) {
        int byUser = user.compareTo(other.user);
        return byUser != 0 ? byUser : device.compareTo(other.device);
    }

    @Override
    public String toString() {
        return user + "/" + device;
    }

    /** Parses {@code user/device}, the form {@link #toString()} writes. */
    public static DeviceId parse(String text) {
        Objects.requireNonNull(text, "text");
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("Expected user/device, was '" + text + "'");
        }
        return new DeviceId(text.substring(0, slash), text.substring(slash + 1));
    }
}
