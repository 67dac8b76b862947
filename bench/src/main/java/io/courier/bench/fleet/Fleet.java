package io.courier.bench.fleet;

import io.courier.bench.report.Histograms;
import io.courier.bench.sut.JavaCommand;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.HdrHistogram.Histogram;

/**
 * The load-generator processes of one target, driven by the coordinator: each is a JVM running
 * {@link LoadGeneratorCommand}, told what to do on its stdin, answering over Aeron through the
 * {@link ReportHub}. Connections and rate are split evenly between the processes; their
 * histograms are added together, which HdrHistogram does without loss.
 */
public final class Fleet implements AutoCloseable {

    private static final long START_NANOS = TimeUnit.SECONDS.toNanos(60);

    private final ReportHub hub;
    private final List<Process> processes = new ArrayList<>();
    private final List<Writer> commands = new ArrayList<>();
    private final List<Path> logs = new ArrayList<>();
    private final List<Long> pids = new ArrayList<>();

    /**
     * Starts {@code count} load generators against {@code address}, each with {@code jvmArgs},
     * logging to {@code logDir}; returns once every one has connected to the hub.
     */
    public Fleet(ReportHub hub, int count, String address, Map<String, String> options, List<String> jvmArgs,
                 Path logDir) throws IOException, InterruptedException {
        this.hub = hub;
        Files.createDirectories(logDir);
        for (int i = 0; i < count; i++) {
            List<String> command = JavaCommand.of(jvmArgs, "io.courier.bench.cli.BenchMain", "loadgen",
                "--aeron-dir", hub.directory(), "--id", Integer.toString(i), "--target", address);
            options.forEach((k, v) -> command.addAll(List.of("--option", k + "=" + v)));
            Path log = logDir.resolve("loadgen-" + i + ".log");
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            processes.add(process);
            logs.add(log);
            commands.add(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
        }
        awaitAll("hello", START_NANOS, m -> { }).forEach(m -> pids.add(m.getLong("pid")));
    }

    public int size() {
        return processes.size();
    }

    /** Opens {@code pairs} sender/receiver pairs, split over the processes. */
    public void openPairs(int pairs) throws IOException, InterruptedException {
        for (int i = 0; i < size(); i++) {
            command(i, "pairs " + (pairs * i / size()) + " " + (pairs * (i + 1) / size()));
        }
        awaitAll("ready", TimeUnit.MINUTES.toNanos(5), m -> { });
    }

    /**
     * Opens {@code connections} idle connections numbered from {@code offset}, split over the
     * processes, all at once. Numbers name users, so give each call its own range.
     *
     * @return the time the slowest process took, in nanoseconds.
     */
    public long openIdle(int connections, int offset) throws IOException, InterruptedException {
        for (int i = 0; i < size(); i++) {
            int from = connections * i / size();
            int to = connections * (i + 1) / size();
            command(i, "idle " + (to - from) + " " + (offset + from));
        }
        return awaitAll("opened", TimeUnit.MINUTES.toNanos(10), m -> { }).stream()
            .mapToLong(m -> m.getLong("nanos")).max().orElse(0);
    }

    /** One step's merged outcome. Histograms are in nanoseconds. */
    public record Step(double rate, long sent, long received, long accepted, long failed, String lastFailure,
                       double achievedRate, Histogram oneWay, Histogram toAccepted, Histogram sendLag,
                       JsonObject usage) {

        public long lost() {
            return sent - received - failed;
        }
    }

    /** Live numbers while a step runs, summed over processes. */
    public record Progress(long sent, long received, long failed, long expected, long elapsedNanos) {
    }

    /**
     * Runs one open-loop step: {@code rate} messages per second in all, the warm-up then the
     * measured period, and waits for every process's result. The CPU time and context switches
     * of {@code serverPids} (summed: a cluster's nodes and its Redis count as its server) and of
     * the load generators are read at the measured period's start and end ({@link Step#usage()});
     * none reads the load generators only.
     */
    public Step run(double rate, long warmupNanos, long durationNanos, int payloadBytes, long spinNanos,
                    List<Long> serverPids, Consumer<Progress> progress) throws IOException, InterruptedException {
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
        StepUsage usage = new StepUsage(serverPids, pids, durationNanos / 1e9);
        ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "bench-usage");
            t.setDaemon(true);
            return t;
        });
        ScheduledFuture<?> begun = clock.schedule(usage::begin, start + warmupNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        ScheduledFuture<?> ended = clock.schedule(usage::end, start + warmupNanos + durationNanos - System.nanoTime(),
            TimeUnit.NANOSECONDS);
        for (int i = 0; i < size(); i++) {
            // Stagger the processes' schedules so their sends interleave rather than coincide.
            long offset = (long) (TimeUnit.SECONDS.toNanos(1) / rate * i);
            command(i, "run " + (start + offset) + " " + (rate / size()) + " " + warmupNanos + " " + durationNanos
                + " " + payloadBytes + " " + spinNanos);
        }
        long expected = (long) (rate * (warmupNanos + durationNanos) / 1e9);
        long[][] live = new long[size()][3];
        List<JsonObject> results;
        JsonObject totals;
        try {
            results = awaitAll("result", warmupNanos + durationNanos + TimeUnit.MINUTES.toNanos(2), m -> {
                if (m.getString("type").equals("progress")) {
                    long[] row = live[m.getInteger("process")];
                    row[0] = m.getLong("sent");
                    row[1] = m.getLong("received");
                    row[2] = m.getLong("failed");
                    long sent = 0;
                    long received = 0;
                    long failed = 0;
                    for (long[] r : live) {
                        sent += r[0];
                        received += r[1];
                        failed += r[2];
                    }
                    progress.accept(new Progress(sent, received, failed, expected, System.nanoTime() - start));
                }
            });
            begun.get();
            ended.get();
            totals = usage.totals();
        } catch (ExecutionException e) {
            throw new IllegalStateException("Reading the processes' CPU time failed: " + e.getCause().getMessage(), e);
        } finally {
            clock.shutdownNow();
        }
        Histogram oneWay = new Histogram(3);
        Histogram toAccepted = new Histogram(3);
        Histogram lag = new Histogram(3);
        long sent = 0;
        long received = 0;
        long accepted = 0;
        long failed = 0;
        long lastArrival = 0;
        long measureFrom = Long.MAX_VALUE;
        String lastFailure = "";
        for (JsonObject r : results) {
            oneWay.add(Histograms.decode(r.getString("oneWay")));
            toAccepted.add(Histograms.decode(r.getString("toAccepted")));
            lag.add(Histograms.decode(r.getString("sendLag")));
            sent += r.getLong("sent");
            received += r.getLong("received");
            accepted += r.getLong("accepted");
            failed += r.getLong("failed");
            lastArrival = Math.max(lastArrival, r.getLong("lastArrival"));
            measureFrom = Math.min(measureFrom, r.getLong("measureFrom"));
            if (!r.getString("lastFailure").isEmpty()) {
                lastFailure = r.getString("lastFailure");
            }
        }
        // Achieved: what arrived in the measured period, over the time it took to arrive. A
        // system that keeps up finishes just after the schedule does; one that falls behind,
        // later, and the rate shows it.
        double seconds = Math.max(durationNanos, lastArrival - measureFrom) / 1e9;
        double achieved = received / seconds;
        return new Step(rate, sent, received, accepted, failed, lastFailure, achieved, oneWay, toAccepted, lag, totals);
    }

    private void command(int process, String line) throws IOException {
        Writer writer = commands.get(process);
        writer.write(line);
        writer.write('\n');
        writer.flush();
    }

    /** Waits for one message of {@code type} from every process; others go to {@code other}. */
    private List<JsonObject> awaitAll(String type, long timeoutNanos, Consumer<JsonObject> other)
        throws InterruptedException, IOException {
        JsonObject[] got = new JsonObject[size()];
        int missing = size();
        long deadline = System.nanoTime() + timeoutNanos;
        while (missing > 0) {
            long left = deadline - System.nanoTime();
            JsonObject message = left > 0 ? hub.poll(Math.min(left, TimeUnit.SECONDS.toNanos(1))) : null;
            if (message == null) {
                for (int i = 0; i < size(); i++) {
                    if (!processes.get(i).isAlive()) {
                        throw new IllegalStateException("Load generator " + i + " exited with "
                            + processes.get(i).exitValue() + " while waiting for '" + type + "':\n" + tail(logs.get(i)));
                    }
                }
                if (left <= 0) {
                    throw new IllegalStateException("No '" + type + "' from " + missing + " load generator(s) within "
                        + TimeUnit.NANOSECONDS.toSeconds(timeoutNanos) + " s; logs in " + logs.get(0).getParent());
                }
                continue;
            }
            String kind = message.getString("type");
            int from = message.getInteger("process");
            if (kind.equals("error")) {
                throw new IllegalStateException("Load generator " + from + " failed: " + message.getString("message")
                    + "\n" + tail(logs.get(from)));
            }
            if (kind.equals(type) && got[from] == null) {
                got[from] = message;
                missing--;
            } else {
                other.accept(message);
            }
        }
        return List.of(got);
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    }

    @Override
    public void close() {
        for (int i = 0; i < size(); i++) {
            try {
                command(i, "quit");
                commands.get(i).close();
            } catch (IOException gone) {
                // Already exited; destroy below makes sure.
            }
        }
        for (Process process : processes) {
            try {
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
