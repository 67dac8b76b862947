package io.courier.bench.load;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;
import org.HdrHistogram.Histogram;

/**
 * An open-loop sender: message {@code k} is scheduled at {@code start + k × interval} and goes to
 * pair {@code k mod pairs}, whether or not earlier messages were answered — the way real users
 * send, and unlike a closed loop that waits and so hides a slow system. When the generator falls
 * behind it sends at once to catch up; latency is still counted from the schedule.
 *
 * <p>Waiting is a park by default: on 2 cores a spinning generator would take a core from the
 * system it measures. A park overshoots by the kernel's timer slack (about 50 µs), which is
 * charged to every target alike; the generator records its own lateness (actual minus scheduled
 * send time) so reports show it beside the latencies. {@code spinNanos} spins the last stretch of
 * each wait instead, for machines with cores to spare.
 */
public final class OpenLoop {

    private OpenLoop() {
    }

    /** What one step sent. */
    public record Sent(long messages, long lastScheduled) {
    }

    /**
     * Sends {@code rate × duration} messages, scheduled from {@code startNanos}, round-robin over
     * {@code pairs}. Blocks the calling thread until the last is sent or {@code stop} says so.
     *
     * @param rate          messages per second from this process.
     * @param durationNanos how long to send.
     * @param payloadBytes  size of each payload (at least {@link Payloads#MIN_SIZE}).
     * @param spinNanos     spin (rather than park) when the next send is this close.
     * @param lag           records, per send, how late it went out (nanoseconds).
     * @param onSend        called after each send with its scheduled time (cheap, same thread).
     */
    public static Sent run(List<Pair> pairs, long startNanos, double rate, long durationNanos, int payloadBytes,
                           long spinNanos, Histogram lag, BooleanSupplier stop, LongConsumer onSend) {
        if (pairs.isEmpty() || rate <= 0) {
            return new Sent(0, startNanos);
        }
        double interval = TimeUnit.SECONDS.toNanos(1) / rate;
        long total = (long) Math.floor(durationNanos / interval);
        long lastAt = startNanos;
        long k = 0;
        for (; k < total && !stop.getAsBoolean(); k++) {
            long at = startNanos + (long) (k * interval);
            long wait;
            while ((wait = at - System.nanoTime()) > 0) {
                if (wait > spinNanos) {
                    LockSupport.parkNanos(wait - spinNanos);
                } else {
                    Thread.onSpinWait();
                }
            }
            pairs.get((int) (k % pairs.size())).send(Payloads.create(payloadBytes, at));
            lag.recordValue(Math.min(Math.max(0, System.nanoTime() - at), lag.getHighestTrackableValue()));
            lastAt = at;
            onSend.accept(at);
        }
        return new Sent(k, lastAt);
    }
}
