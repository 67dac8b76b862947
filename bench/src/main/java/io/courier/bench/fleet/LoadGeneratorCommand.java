package io.courier.bench.fleet;

import io.courier.bench.load.OpenLoop;
import io.courier.bench.load.Pair;
import io.courier.bench.load.StepRecorder;
import io.courier.bench.load.Target;
import io.courier.bench.load.Targets;
import io.courier.bench.report.Histograms;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * One load-generator process (started by the coordinator, not by people). It opens its share of
 * the connections to the target, then obeys commands read line by line from stdin and reports
 * over Aeron ({@link Reporter}):
 * <pre>
 *   pairs FROM TO                                  open pairs FROM..TO-1          → ready
 *   run START RATE WARMUP DURATION PAYLOAD SPIN    one open-loop step (nanos)     → progress…, result
 *   idle COUNT OFFSET                              open idle connections          → opened
 *   quit (or end of input)                         close everything and exit
 * </pre>
 * Running the load in its own JVM keeps the generator's allocation and GC out of the server's
 * process and out of the coordinator's; several of them spread connections over processes, since
 * one process may hold only about 20,000 files here.
 */
@Command(name = "loadgen", hidden = true, mixinStandardHelpOptions = true,
    versionProvider = io.courier.bench.cli.BenchVersion.class, description = "A load-generator process (started by the coordinator).")
public final class LoadGeneratorCommand implements Callable<Integer> {

    /** How long a step waits, after its last send, for the last messages to arrive. */
    private static final long DRAIN_NANOS = TimeUnit.SECONDS.toNanos(15);

    @Option(names = "--aeron-dir", required = true)
    String aeronDir;

    @Option(names = "--id", required = true)
    int id;

    @Option(names = "--target", required = true)
    String address;

    @Option(names = "--option")
    Map<String, String> options = new HashMap<>();

    private final List<Pair> pairs = new ArrayList<>();
    private final List<AutoCloseable> idle = new ArrayList<>();
    private final SwitchingSink sink = new SwitchingSink();

    @Override
    public Integer call() throws Exception {
        try (Reporter reporter = new Reporter(aeronDir, id)) {
            try (Target target = Targets.open(address, options);
                 BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                reporter.send("hello", new JsonObject().put("pid", ProcessHandle.current().pid()));
                String line;
                while ((line = in.readLine()) != null && !line.equals("quit")) {
                    String[] words = line.trim().split("\\s+");
                    switch (words[0]) {
                        case "pairs" -> openPairs(target, Integer.parseInt(words[1]), Integer.parseInt(words[2]), reporter);
                        case "run" -> run(words, reporter);
                        case "idle" -> openIdle(target, Integer.parseInt(words[1]), Integer.parseInt(words[2]), reporter);
                        default -> throw new IllegalArgumentException("Unknown command: " + line);
                    }
                }
                pairs.forEach(Pair::close);
                for (AutoCloseable connection : idle) {
                    connection.close();
                }
            } catch (Exception | Error e) {
                reporter.send("error", new JsonObject().put("message", String.valueOf(e)));
                throw e;
            }
        }
        return 0;
    }

    private void openPairs(Target target, int from, int to, Reporter reporter) throws Exception {
        long started = System.nanoTime();
        List<CompletableFuture<Pair>> pending = new ArrayList<>();
        for (int i = from; i < to; i++) {
            pending.add(target.openPair(i, sink));
            if (pending.size() == 64 || i == to - 1) {
                for (CompletableFuture<Pair> pair : pending) {
                    pairs.add(pair.get(60, TimeUnit.SECONDS));
                }
                pending.clear();
            }
        }
        reporter.send("ready", new JsonObject().put("pairs", pairs.size()).put("nanos", System.nanoTime() - started));
    }

    private void openIdle(Target target, int count, int offset, Reporter reporter) throws Exception {
        long started = System.nanoTime();
        List<CompletableFuture<AutoCloseable>> pending = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            pending.add(target.openIdle(offset + i));
            if (pending.size() == 256 || i == count - 1) {
                for (CompletableFuture<AutoCloseable> connection : pending) {
                    idle.add(connection.get(120, TimeUnit.SECONDS));
                }
                pending.clear();
            }
        }
        reporter.send("opened", new JsonObject().put("connections", count).put("nanos", System.nanoTime() - started));
    }

    private void run(String[] words, Reporter reporter) {
        long start = Long.parseLong(words[1]);
        double rate = Double.parseDouble(words[2]);
        long warmup = Long.parseLong(words[3]);
        long duration = Long.parseLong(words[4]);
        int payload = Integer.parseInt(words[5]);
        long spin = Long.parseLong(words[6]);
        StepRecorder recorder = new StepRecorder(start + warmup, start + warmup + duration);
        sink.switchTo(recorder);
        Histogram lag = new Histogram(StepRecorder.HIGHEST_NANOS, 3);
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "bench-progress");
            t.setDaemon(true);
            return t;
        });
        ticker.scheduleAtFixedRate(() -> reporter.send("progress", new JsonObject()
            .put("sent", recorder.sent()).put("received", recorder.received())
            .put("failed", recorder.failed())), 250, 250, TimeUnit.MILLISECONDS);
        try {
            OpenLoop.run(pairs, start, rate, warmup + duration, payload, spin, lag, () -> false, recorder::sent);
            long deadline = System.nanoTime() + DRAIN_NANOS;
            while (recorder.receivedMeasured() + recorder.failed() < recorder.sentMeasured()
                && System.nanoTime() - deadline < 0) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            }
        } finally {
            ticker.shutdownNow();
        }
        reporter.send("result", new JsonObject()
            .put("sent", recorder.sentMeasured())
            .put("received", recorder.receivedMeasured())
            .put("accepted", recorder.acceptedCount())
            .put("failed", recorder.failed())
            .put("lastFailure", recorder.lastFailure())
            .put("measureFrom", start + warmup)
            .put("lastArrival", recorder.lastMeasuredArrival())
            .put("oneWay", Histograms.encode(recorder.oneWay()))
            .put("toAccepted", Histograms.encode(recorder.accepted()))
            .put("sendLag", Histograms.encode(lag)));
    }
}
