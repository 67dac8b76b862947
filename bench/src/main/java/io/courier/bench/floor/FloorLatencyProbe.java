package io.courier.bench.floor;

import io.courier.bench.load.LoadSink;
import io.courier.bench.load.Pair;
import io.courier.bench.load.Payloads;
import io.courier.bench.load.Target;
import io.courier.bench.load.Targets;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * A quick look at one floor's one-way latency, open loop, before the full harness runs it: starts
 * {@link FloorServer} as a child process (the middle, as Courier would be), drives PAIRS pairs from
 * this process at RATE messages a second of 100-byte payloads, and prints percentiles measured from
 * each message's scheduled send time (the first 2 seconds are warm-up, not recorded).
 *
 * <pre>
 *   java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -cp bench/target/courier-bench.jar \
 *       io.courier.bench.floor.FloorLatencyProbe relay|aeron-ipc|aeron-udp [RATE [SECONDS [PAIRS]]]
 * </pre>
 * {@code -Dcourier.floor.maxParkMicros=N} is passed on to the child (see {@link AeronFloorDriver}).
 */
public final class FloorLatencyProbe {

    private static final int PAYLOAD_BYTES = 100;
    private static final long WARMUP_NANOS = TimeUnit.SECONDS.toNanos(2);

    private FloorLatencyProbe() {
    }

    public static void main(String[] args) throws Exception {
        String kind = args.length > 0 ? args[0] : "relay";
        int rate = args.length > 1 ? Integer.parseInt(args[1]) : 2_000;
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        int pairs = args.length > 3 ? Integer.parseInt(args[3]) : 2;

        Process floor = startFloor(kind);
        try (BufferedReader stdout = new BufferedReader(new InputStreamReader(floor.getInputStream(), StandardCharsets.UTF_8))) {
            String ready = stdout.readLine();
            if (ready == null || !ready.startsWith("READY ")) {
                throw new IllegalStateException("FloorServer " + kind + " did not print READY (printed: " + ready + ")");
            }
            String address = ready.substring("READY ".length());
            Histogram histogram = run(address, rate, seconds, pairs);
            System.out.printf("%s %s: %d msgs/s, %d pairs, %d s: count=%d p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f µs%n",
                kind, address, rate, pairs, seconds, histogram.getTotalCount(),
                micros(histogram.getValueAtPercentile(50)), micros(histogram.getValueAtPercentile(90)),
                micros(histogram.getValueAtPercentile(99)), micros(histogram.getValueAtPercentile(99.9)),
                micros(histogram.getMaxValue()));
        } finally {
            floor.getOutputStream().close();
            if (!floor.waitFor(10, TimeUnit.SECONDS)) {
                floor.destroyForcibly();
            }
        }
    }

    private static Process startFloor(String kind) throws IOException {
        List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"));
        String maxPark = System.getProperty(AeronFloorDriver.MAX_PARK_PROPERTY);
        if (maxPark != null) {
            command.add("-D" + AeronFloorDriver.MAX_PARK_PROPERTY + "=" + maxPark);
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), FloorServer.class.getName(), kind));
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    private static Histogram run(String address, int rate, int seconds, int pairCount) throws Exception {
        Recorder recorder = new Recorder(3);
        long intervalNanos = TimeUnit.SECONDS.toNanos(1) / rate;
        long warmupMessages = WARMUP_NANOS / intervalNanos;
        long measuredMessages = TimeUnit.SECONDS.toNanos(seconds) / intervalNanos;
        CountDownLatch measured = new CountDownLatch((int) measuredMessages);
        AtomicLong failures = new AtomicLong();
        try (Target target = Targets.open(address, Map.of())) {
            List<Pair> pairs = new ArrayList<>();
            AtomicLong measureFrom = new AtomicLong(Long.MAX_VALUE);
            LoadSink sink = new LoadSink() {
                @Override
                public void accepted(long scheduledNanos) {
                }

                @Override
                public void received(long scheduledNanos) {
                    if (scheduledNanos >= measureFrom.get()) {
                        recorder.recordValue(System.nanoTime() - scheduledNanos);
                        measured.countDown();
                    }
                }

                @Override
                public void failed(String reason) {
                    if (failures.getAndIncrement() == 0) {
                        System.err.println("First failure: " + reason);
                    }
                }
            };
            for (int i = 0; i < pairCount; i++) {
                pairs.add(target.openPair(i, sink).get(30, TimeUnit.SECONDS));
            }
            long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(10);
            measureFrom.set(start + warmupMessages * intervalNanos);
            for (long i = 0; i < warmupMessages + measuredMessages; i++) {
                long scheduled = start + i * intervalNanos;
                // Open loop: wait for the schedule, never for a reply; a late send keeps its scheduled time.
                for (long wait; (wait = scheduled - System.nanoTime()) > 0; ) {
                    if (wait > 20_000) {
                        LockSupport.parkNanos(wait - 10_000);
                    } else {
                        Thread.onSpinWait();
                    }
                }
                pairs.get((int) (i % pairCount)).send(Payloads.create(PAYLOAD_BYTES, scheduled));
            }
            if (!measured.await(30, TimeUnit.SECONDS)) {
                System.err.println(measured.getCount() + " measured messages never arrived");
            }
            if (failures.get() > 0) {
                System.err.println(failures.get() + " failures");
            }
            pairs.forEach(Pair::close);
        }
        return recorder.getIntervalHistogram();
    }

    private static double micros(long nanos) {
        return nanos / 1_000.0;
    }
}
