package io.courier.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class OpenLoopTest {

    /** Records what it is asked to send. */
    static final class RecordingPair implements Pair {
        final List<Long> scheduled = new ArrayList<>();

        @Override
        public void send(byte[] payload) {
            assertThat(payload).hasSize(100);
            scheduled.add(Payloads.scheduled(payload));
        }

        @Override
        public void close() {
        }
    }

    @Test
    void sendsRateTimesDurationOnScheduleRoundRobin() {
        RecordingPair a = new RecordingPair();
        RecordingPair b = new RecordingPair();
        long start = System.nanoTime();
        List<Long> onSend = new ArrayList<>();
        Histogram lag = new Histogram(TimeUnit.MINUTES.toNanos(1), 3);
        OpenLoop.Sent sent = OpenLoop.run(List.of(a, b), start, 1_000, TimeUnit.MILLISECONDS.toNanos(200), 100, 0, lag,
            () -> false, onSend::add);
        assertThat(sent.messages()).isEqualTo(200);
        assertThat(a.scheduled).hasSize(100);
        assertThat(b.scheduled).hasSize(100);
        assertThat(lag.getTotalCount()).isEqualTo(200);
        // Message k is stamped with start + k × 1 ms, whenever it actually went out.
        for (int k = 0; k < 200; k++) {
            long expected = start + k * TimeUnit.MILLISECONDS.toNanos(1);
            assertThat((k % 2 == 0 ? a : b).scheduled.get(k / 2)).isEqualTo(expected);
            assertThat(onSend.get(k)).isEqualTo(expected);
        }
        assertThat(sent.lastScheduled()).isEqualTo(start + 199 * TimeUnit.MILLISECONDS.toNanos(1));
    }

    @Test
    void aScheduleInThePastIsSentAtOnceAndStillStampedWithIt() {
        RecordingPair pair = new RecordingPair();
        long start = System.nanoTime() - TimeUnit.SECONDS.toNanos(10);
        Histogram lag = new Histogram(TimeUnit.MINUTES.toNanos(1), 3);
        OpenLoop.run(List.of(pair), start, 100, TimeUnit.SECONDS.toNanos(1), 100, 0, lag, () -> false, at -> { });
        assertThat(pair.scheduled).hasSize(100).first().isEqualTo(start);
        // Ten seconds late: the lag says so, and latency will be counted from the schedule.
        assertThat(lag.getMinValue()).isGreaterThan(TimeUnit.SECONDS.toNanos(8));
    }

    @Test
    void stopEndsTheStepEarly() {
        RecordingPair pair = new RecordingPair();
        Histogram lag = new Histogram(TimeUnit.MINUTES.toNanos(1), 3);
        OpenLoop.Sent sent = OpenLoop.run(List.of(pair), System.nanoTime(), 1_000, TimeUnit.SECONDS.toNanos(60), 100, 0,
            lag, () -> pair.scheduled.size() >= 5, at -> { });
        assertThat(sent.messages()).isEqualTo(5);
    }
}
