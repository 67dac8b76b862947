package io.courier.media.internal;

import java.time.Clock;
import java.util.HashMap;
import java.util.Map;

/**
 * A per-user allowance in fixed windows of the injected clock: at most {@code limit} units in each
 * window of {@code windowMs}.
 */
public final class Windows {

    private final long limit;
    private final long windowMs;
    private final Clock clock;
    private final Map<String, long[]> used = new HashMap<>();

    public Windows(long limit, long windowMs, Clock clock) {
        this.limit = limit;
        this.windowMs = windowMs;
        this.clock = clock;
    }

    /** Takes {@code units} for {@code user}: 0 when taken, else ms until the next window (nothing taken). */
    public synchronized long take(String user, long units) {
        long now = clock.millis();
        long window = now / windowMs;
        long[] entry = used.computeIfAbsent(user, u -> new long[2]);
        if (entry[0] != window) {
            entry[0] = window;
            entry[1] = 0;
        }
        if (entry[1] + units > limit) {
            return Math.max(1, (window + 1) * windowMs - now);
        }
        entry[1] += units;
        return 0;
    }

    /** Gives back what {@link #take} took in the current window (an upload that failed). */
    public synchronized void giveBack(String user, long units) {
        long[] entry = used.get(user);
        if (entry != null && entry[0] == clock.millis() / windowMs) {
            entry[1] = Math.max(0, entry[1] - units);
        }
    }

    /** Drops windows that are over (called by cleanup, so the map does not grow with every user ever seen). */
    public synchronized void prune() {
        long window = clock.millis() / windowMs;
        used.values().removeIf(e -> e[0] != window);
    }

    public long limit() {
        return limit;
    }
}
