package io.courier.bench.cli;

import io.courier.bench.fleet.Fleet;
import io.courier.bench.fleet.ReportHub;
import io.courier.bench.report.BenchResult;
import io.courier.bench.sut.ProcessProbe;
import io.courier.bench.sut.SystemUnderTest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code density}: what an idle, authenticated connection costs. Per system: start it, open a few
 * hundred connections and measure (so class loading, JIT and pools are paid before the baseline),
 * open N more from load processes, measure again, and divide the growth by N. One process may
 * hold only about 20,000 files here, so connections are spread over processes of at most
 * {@code --per-process} each.
 *
 * <p>Beside that average, {@code --slope} measures the growth between two larger counts (by
 * default 5,000 and 19,000 connections held): the slope, which charges neither one-time costs
 * nor heap pages first touched to the connections, and so is the figure to project from.
 */
@Command(name = "density", mixinStandardHelpOptions = true, versionProvider = BenchVersion.class,
    description = "Server memory per idle authenticated connection, per transport (and the MQTT peer's RSS).")
public final class DensityCommand implements Callable<Integer> {

    @Option(names = "--connections", defaultValue = "10000", description = "Idle connections per system (default ${DEFAULT-VALUE}).")
    int connections;

    @Option(names = "--per-process", defaultValue = "15000",
        description = "At most this many connections per load process (default ${DEFAULT-VALUE}).")
    int perProcess;

    @Option(names = "--warm", defaultValue = "500", description = "Connections opened before the baseline (default ${DEFAULT-VALUE}).")
    int warm;

    @Option(names = "--slope", defaultValue = "5000,19000", split = ",",
        description = "Two counts of connections held (the warm ones included) between which the growth per connection "
            + "is also measured; 'none' skips it (default ${DEFAULT-VALUE}).")
    List<String> slope = new ArrayList<>();

    @Mixin
    TransportOptions transports;

    @Mixin
    PeerOptions peer;

    @Option(names = "--server-jvm-args", defaultValue = "-Xms2g -Xmx2g -XX:+UseG1GC", split = " ",
        description = "The server's JVM flags (default ${DEFAULT-VALUE}: a fixed heap, as servers run, so the "
            + "GC's bookkeeping does not grow with heap resizing); NMT is added to read direct and native memory.")
    List<String> serverJvmArgs = new ArrayList<>();

    @Option(names = "--load-jvm-args", defaultValue = "-Xmx1g", split = " ", description = "Load processes' JVM flags (default ${DEFAULT-VALUE}).")
    List<String> loadJvmArgs = new ArrayList<>();

    @Option(names = "--set", description = "A Courier server setting, as its --set takes it. Repeatable.")
    List<String> settings = new ArrayList<>();

    @Option(names = "--out", description = "Directory for result.json, report.html and logs "
        + "(default bench-results/density-TIMESTAMP).")
    Path out;

    @Override
    public Integer call() throws Exception {
        LoadOptions.require(connections >= 1, "--connections must be at least 1");
        LoadOptions.require(perProcess >= 1 && perProcess <= 18_000,
            "--per-process must be 1..18000: one process may hold at most 20,000 files here");
        LoadOptions.require(warm >= 0, "--warm must not be negative");
        int[] between = slopeBetween();
        int opened = between.length == 0 ? connections : Math.max(connections, between[1] - warm);
        out = out != null ? out : LoadOptions.defaultOut("density");
        // No --floors: a floor is a latency yardstick; an idle connection to it costs nothing worth knowing.
        List<String> jvm = new ArrayList<>(serverJvmArgs);
        jvm.add("-XX:NativeMemoryTracking=summary");
        List<SystemSpec> systems = new ArrayList<>(SystemSpec.courier(transports.named(), "memory", settings, jvm));
        systems.addAll(peer.systems());
        SystemSpec.nonEmpty(systems, "--transports or --peer");
        int processes = (opened + perProcess - 1) / perProcess;
        BenchResult result = BenchResult.begin("density", BenchMain.arguments(), new JsonObject()
            .put("connections", connections).put("perProcess", perProcess).put("loadProcesses", processes)
            .put("warm", warm).put("slope", between.length == 0 ? null : new JsonArray().add(between[0]).add(between[1]))
            .put("serverJvmArgs", serverJvmArgs).put("loadJvmArgs", loadJvmArgs)
            .put("settings", settings).put("storage", "memory")
            .put("systems", systems.stream().map(SystemSpec::name).toList()));
        try (ReportHub hub = ReportHub.start()) {
            for (SystemSpec spec : systems) {
                result.addDensity(measure(hub, spec, processes, between));
            }
        }
        return BenchMain.publish(result, out);
    }

    /** The two counts of {@code --slope}, lower first, or none. */
    private int[] slopeBetween() {
        if (slope.size() == 1 && slope.get(0).equals("none")) {
            return new int[0];
        }
        LoadOptions.require(slope.size() == 2 && slope.stream().allMatch(v -> v.matches("\\d{1,9}")),
            "--slope must be two counts of connections, such as 5000,19000, or 'none'");
        int low = Integer.parseInt(slope.get(0));
        int high = Integer.parseInt(slope.get(1));
        LoadOptions.require(low > warm && high > low,
            "--slope's counts must rise and the first must exceed --warm (" + warm + "): the slope is measured above the warm baseline");
        LoadOptions.require(high <= 19_000, "--slope's second count must be at most 19000: the server may hold at most 20,000 files here");
        return new int[] {low, high};
    }

    private JsonObject measure(ReportHub hub, SystemSpec spec, int processes, int[] between) throws Exception {
        Path dir = out.resolve("logs").resolve(spec.name());
        try (SystemUnderTest system = spec.start(dir)) {
            Map<String, String> options = new HashMap<>();
            options.put("user-prefix", spec.name() + "-" + Long.toHexString(System.nanoTime()));
            try (Fleet fleet = new Fleet(hub, processes, system.address(), options, loadJvmArgs, dir)) {
                boolean jvm = system.isJvm();
                if (warm > 0) {
                    fleet.openIdle(Math.max(warm, processes), 0);
                }
                Map<String, Long> before = ProcessProbe.snapshot(system.pid(), jvm, jvm);
                keepHeapAndSlabs(system, jvm, dir, "before");
                int base = warm > 0 ? Math.max(warm, processes) : 0;
                int target = base + connections;
                Progress bar = new Progress(spec.name() + " × " + String.format("%,d", connections));
                // Counts held at which to take a snapshot, in rising order: the average's and the slope's.
                TreeMap<Integer, Map<String, Long>> at = new TreeMap<>();
                at.put(target, null);
                for (int count : between) {
                    at.put(count, null);
                }
                long nanos = 0;
                int held = base;
                for (Map.Entry<Integer, Map<String, Long>> point : at.entrySet()) {
                    if (point.getKey() > held) {
                        long took = fleet.openIdle(point.getKey() - held, held);
                        nanos += point.getKey() <= target ? took : 0;
                        held = point.getKey();
                    }
                    point.setValue(ProcessProbe.snapshot(system.pid(), jvm, jvm));
                    if (point.getKey() == target) {
                        keepHeapAndSlabs(system, jvm, dir, "after");
                    }
                }
                Map<String, Long> after = at.get(target);
                JsonObject per = growth(before, after, connections);
                String kernelKey = spec.name().equals("udp") ? "kernelUdp" : "kernelTcp";
                per.put("kernel", (after.get(kernelKey) - before.get(kernelKey)) / (double) connections);
                if (jvm) {
                    per.put("jvmTotal", per.getDouble("heapLive") + per.getDouble("direct") + per.getDouble("nativeOther"));
                }
                JsonObject slopeJson = null;
                if (between.length == 2) {
                    slopeJson = new JsonObject().put("from", between[0]).put("to", between[1])
                        .put("perConnection", growth(at.get(between[0]), at.get(between[1]), between[1] - between[0]));
                }
                double rate = connections / (nanos / 1e9);
                bar.done(String.format("%,.0f connections/s; per connection: %s B live heap, %s B in the JVM, %s B RSS",
                    rate, bytes(per, "heapLive"), bytes(per, "jvmTotal"), bytes(per, "rss")));
                return new JsonObject()
                    .put("name", spec.name())
                    .put("kind", system.kind().name().toLowerCase())
                    .put("system", new JsonObject(new HashMap<>(system.describe())).put("address", system.address()))
                    .put("connections", connections)
                    .put("loadProcesses", processes)
                    .put("connectSeconds", nanos / 1e9)
                    .put("connectRate", rate)
                    .put("before", new JsonObject(new HashMap<>(before)))
                    .put("after", new JsonObject(new HashMap<>(after)))
                    .put("perConnection", per)
                    .put("slope", slopeJson);
            }
        }
    }

    /** Growth per connection of every figure but the machine-wide kernel ones. */
    private static JsonObject growth(Map<String, Long> low, Map<String, Long> high, int connections) {
        JsonObject per = new JsonObject();
        for (String key : high.keySet()) {
            if (low.containsKey(key) && !key.startsWith("kernel")) {
                per.put(key, (high.get(key) - low.get(key)) / (double) connections);
            }
        }
        return per;
    }

    /**
     * Keeps the server's class histogram (live objects, after a full GC) and the kernel's slab
     * counts beside the logs, for a breakdown by class: after minus before, divided by the
     * connections. /proc/slabinfo is readable by root only; without it only the histogram is kept.
     */
    private static void keepHeapAndSlabs(SystemUnderTest system, boolean jvm, Path dir, String when) throws Exception {
        if (jvm) {
            Path histogram = dir.resolve("class-histogram-" + when + ".txt");
            int status = new ProcessBuilder("jcmd", Long.toString(system.pid()), "GC.class_histogram")
                .redirectErrorStream(true).redirectOutput(histogram.toFile()).start().waitFor();
            if (status != 0) {
                throw new IllegalStateException("jcmd GC.class_histogram failed with status " + status + ": see " + histogram);
            }
        }
        Path slabs = Path.of("/proc/slabinfo");
        if (Files.isReadable(slabs)) {
            Files.write(dir.resolve("slabinfo-" + when + ".txt"), Files.readAllBytes(slabs));
        }
    }

    private static String bytes(JsonObject per, String key) {
        Double value = per.getDouble(key);
        return value == null ? "–" : String.format("%,.0f", value);
    }
}
