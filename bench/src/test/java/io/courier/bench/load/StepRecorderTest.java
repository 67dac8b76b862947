package io.courier.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StepRecorderTest {

    @Test
    void recordsOnlyTheMeasurementWindowButCountsEverything() {
        long now = System.nanoTime();
        StepRecorder recorder = new StepRecorder(now - 1_000_000, now + 1_000_000_000L);
        recorder.sent(now - 2_000_000);   // warm-up
        recorder.sent(now);               // measured
        recorder.received(now - 2_000_000);
        recorder.received(now);
        recorder.accepted(now);
        recorder.accepted(now - 2_000_000);
        recorder.failed("nope");
        assertThat(recorder.sent()).isEqualTo(2);
        assertThat(recorder.sentMeasured()).isEqualTo(1);
        assertThat(recorder.received()).isEqualTo(2);
        assertThat(recorder.receivedMeasured()).isEqualTo(1);
        assertThat(recorder.oneWay().getTotalCount()).isEqualTo(1);
        assertThat(recorder.accepted().getTotalCount()).isEqualTo(1);
        assertThat(recorder.acceptedCount()).isEqualTo(2);
        assertThat(recorder.failed()).isEqualTo(1);
        assertThat(recorder.lastFailure()).isEqualTo("nope");
        assertThat(recorder.lastMeasuredArrival()).isGreaterThanOrEqualTo(now);
    }

    @Test
    void latencyIsArrivalMinusSchedule() {
        long scheduled = System.nanoTime() - 5_000_000;   // 5 ms ago
        StepRecorder recorder = new StepRecorder(scheduled, scheduled + 1);
        recorder.received(scheduled);
        assertThat(recorder.oneWay().getMinValue()).isGreaterThanOrEqualTo(4_990_000);
    }

    @Test
    void intervalsAddUpToTheTotal() {
        long now = System.nanoTime();
        StepRecorder recorder = new StepRecorder(0, Long.MAX_VALUE);
        recorder.received(now);
        assertThat(recorder.interval().getTotalCount()).isEqualTo(1);
        recorder.received(now);
        recorder.received(now);
        assertThat(recorder.interval().getTotalCount()).isEqualTo(2);
        assertThat(recorder.oneWay().getTotalCount()).isEqualTo(3);
    }
}
