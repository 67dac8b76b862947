package io.courier.client.internal;

/** The protocol's id syntax (user and device ids), checked before anything is stored. */
final class Ids {

    static final String SYNTAX = "1 to 64 characters of [A-Za-z0-9._-], not starting with '.'";

    private Ids() {
    }

    static boolean isValidId(String id) {
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

    static String quote(String text) {
        if (text == null) {
            return "null";
        }
        return text.length() <= 64 ? "'" + text + "'" : "'" + text.substring(0, 64) + "… (" + text.length() + " chars)'";
    }
}
