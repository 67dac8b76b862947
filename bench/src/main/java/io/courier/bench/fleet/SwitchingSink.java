package io.courier.bench.fleet;

import io.courier.bench.load.LoadSink;
import io.courier.bench.load.StepRecorder;

/**
 * The sink pairs are opened with: forwards to the current step's recorder, so one set of
 * connections serves every step of a run. A message from an earlier step that arrives late is
 * counted by the current recorder but falls outside its measurement window.
 */
final class SwitchingSink implements LoadSink {

    private volatile StepRecorder current = new StepRecorder(Long.MAX_VALUE, Long.MAX_VALUE);

    void switchTo(StepRecorder recorder) {
        current = recorder;
    }

    @Override
    public void accepted(long scheduledNanos) {
        current.accepted(scheduledNanos);
    }

    @Override
    public void received(long scheduledNanos) {
        current.received(scheduledNanos);
    }

    @Override
    public void failed(String reason) {
        current.failed(reason);
    }
}
