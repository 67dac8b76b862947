package io.courier.bench.load;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The {@link LoadSink} of one load step: records one-way latency and time to accepted for the
 * messages scheduled inside the measurement window, and counts everything. Recording is
 * wait-free ({@link Recorder}), so I/O threads never wait on each other or on the reader.
 *
 * <p>Messages scheduled during the warm-up are counted as received but not recorded. Latency is
 * the arrival time minus the <em>scheduled</em> send time, which corrects for coordinated omission:
 * if the system (or this generator) stalls, every message the stall delayed is charged with it.
 */
public final class StepRecorder implements LoadSink {

    /** The largest latency a histogram holds: a minute. A stall longer than that is a failed run. */
    public static final long HIGHEST_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final long measureFrom;
    private final long measureUntil;
    private final Recorder oneWay = new Recorder(HIGHEST_NANOS, 3);
    private final Recorder accepted = new Recorder(HIGHEST_NANOS, 3);
    private final Histogram oneWayTotal = new Histogram(HIGHEST_NANOS, 3);
    private final Histogram acceptedTotal = new Histogram(HIGHEST_NANOS, 3);
    private final LongAdder received = new LongAdder();
    private final LongAdder receivedMeasured = new LongAdder();
    private final LongAdder acceptedCount = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private volatile long sent;
    private volatile long sentMeasured;
    private volatile long lastMeasuredArrival;
    private volatile String lastFailure = "";

    /** Records messages scheduled in {@code [measureFrom, measureUntil)} (nanoTime). */
    public StepRecorder(long measureFrom, long measureUntil) {
        this.measureFrom = measureFrom;
        this.measureUntil = measureUntil;
    }

    /** The generator sent the message scheduled at {@code scheduledNanos}. One thread calls this. */
    @SuppressWarnings("NonAtomicOperationOnVolatileField") // one writer
    public void sent(long scheduledNanos) {
        sent++;
        if (measured(scheduledNanos)) {
            sentMeasured++;
        }
    }

    @Override
    public void accepted(long scheduledNanos) {
        long now = System.nanoTime();
        acceptedCount.increment();
        if (measured(scheduledNanos)) {
            accepted.recordValue(clamp(now - scheduledNanos));
        }
    }

    @Override
    public void received(long scheduledNanos) {
        long now = System.nanoTime();
        received.increment();
        if (measured(scheduledNanos)) {
            receivedMeasured.increment();
            oneWay.recordValue(clamp(now - scheduledNanos));
            lastMeasuredArrival = now;
        }
    }

    @Override
    public void failed(String reason) {
        failed.increment();
        lastFailure = reason;
    }

    private boolean measured(long scheduledNanos) {
        return scheduledNanos >= measureFrom && scheduledNanos < measureUntil;
    }

    private static long clamp(long nanos) {
        return Math.max(0, Math.min(nanos, HIGHEST_NANOS));
    }

    /** Folds what was recorded since the last call into the totals; returns the one-way interval. */
    public synchronized Histogram interval() {
        Histogram step = oneWay.getIntervalHistogram();
        oneWayTotal.add(step);
        acceptedTotal.add(accepted.getIntervalHistogram());
        return step;
    }

    /** Everything recorded so far, one-way. */
    public synchronized Histogram oneWay() {
        interval();
        return oneWayTotal.copy();
    }

    /** Everything recorded so far, time to accepted (empty for targets with no acknowledgement). */
    public synchronized Histogram accepted() {
        interval();
        return acceptedTotal.copy();
    }

    public long sent() {
        return sent;
    }

    public long sentMeasured() {
        return sentMeasured;
    }

    public long received() {
        return received.sum();
    }

    public long receivedMeasured() {
        return receivedMeasured.sum();
    }

    public long acceptedCount() {
        return acceptedCount.sum();
    }

    public long failed() {
        return failed.sum();
    }

    public String lastFailure() {
        return lastFailure;
    }

    /** When the last measured message arrived (nanoTime), or 0. */
    public long lastMeasuredArrival() {
        return lastMeasuredArrival;
    }
}
