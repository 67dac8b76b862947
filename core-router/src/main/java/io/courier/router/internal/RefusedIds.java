package io.courier.router.internal;

/**
 * The ids of one acknowledgement or read receipt refused for one reason: how many, and the first
 * {@value BatchStaging#LISTED_IDS} to name in the one error that answers them all. Reused from
 * frame to frame by the writer thread, so a frame of many bad ids costs no allocation per id.
 */
final class RefusedIds {

    private final long[] listed = new long[BatchStaging.LISTED_IDS];
    private int count;
    private int firstIndex;

    void clear() {
        count = 0;
    }

    /** Id {@code serverId}, at position {@code index} of its frame, was refused. */
    void add(long serverId, int index) {
        if (count < listed.length) {
            listed[count] = serverId;
        }
        if (count == 0) {
            firstIndex = index;
        }
        count++;
    }

    int count() {
        return count;
    }

    /** The first refused id. Only when {@link #count()} is positive. */
    long first() {
        return listed[0];
    }

    /** Where in its frame the first refused id stood. */
    int firstIndex() {
        return firstIndex;
    }

    /**
     * The ids as the subject of a sentence: {@code "Server message id 42 is"}, or
     * {@code "1200 server message ids (7, 8, 9, 10, 11, …) are"}.
     */
    String describe(String verbSingular, String verbPlural) {
        if (count == 1) {
            return "Server message id " + listed[0] + " " + verbSingular;
        }
        StringBuilder text = new StringBuilder().append(count).append(" server message ids (");
        int shown = Math.min(count, listed.length);
        for (int i = 0; i < shown; i++) {
            text.append(i == 0 ? "" : ", ").append(listed[i]);
        }
        return text.append(count > shown ? ", …) " : ") ").append(verbPlural).toString();
    }
}
