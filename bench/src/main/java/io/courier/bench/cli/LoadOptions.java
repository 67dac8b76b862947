package io.courier.bench.cli;

import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * What every command that drives pairs of clients takes (latency, floor, peer, throughput): the
 * load's shape, its processes, the clients' options, where results go. What is measured comes
 * from each command's own options.
 */
final class LoadOptions {

    @Option(names = "--pairs", defaultValue = "10", description = "Sender/receiver pairs (default ${DEFAULT-VALUE}).")
    int pairs;

    @Option(names = "--warmup", defaultValue = "5", description = "Seconds of load before measuring (default ${DEFAULT-VALUE}).")
    double warmupSeconds;

    @Option(names = "--duration", defaultValue = "20", description = "Seconds measured (default ${DEFAULT-VALUE}).")
    double durationSeconds;

    @Option(names = "--prime", defaultValue = "5",
        description = "Seconds of unrecorded load at --prime-rate once connections are open, so a fresh JVM's "
            + "JIT is warm before the first step (default ${DEFAULT-VALUE}).")
    double primeSeconds;

    @Option(names = "--prime-rate", defaultValue = "2000", description = "Rate of the priming load (default ${DEFAULT-VALUE}/s).")
    double primeRate;

    @Option(names = "--payload", defaultValue = "100", description = "Payload bytes (default ${DEFAULT-VALUE}).")
    int payloadBytes;

    @Option(names = "--load-processes", defaultValue = "1",
        description = "Load-generator processes; they report to this one over Aeron (default ${DEFAULT-VALUE}).")
    int loadProcesses;

    @Option(names = "--load-jvm-args", defaultValue = "-Xmx1g -XX:+UseG1GC", split = " ",
        description = "Each load generator's JVM flags (default ${DEFAULT-VALUE}).")
    List<String> loadJvmArgs = new ArrayList<>();

    @Option(names = "--spin-micros", defaultValue = "0",
        description = "Spin instead of park the last N µs before each send (default ${DEFAULT-VALUE}: park; "
            + "spinning takes a core, which a 2-core machine cannot spare).")
    long spinMicros;

    @Option(names = "--target-option", description = "A client option, key=value (e.g. epoll=false). Repeatable.")
    Map<String, String> targetOptions = new HashMap<>();

    @Option(names = "--out", description = "Directory for result.json, report.html and logs "
        + "(default bench-results/COMMAND-TIMESTAMP).")
    Path out;

    /** Where results go when {@code --out} is not given, relative to the working directory. */
    static final String RESULTS = "bench-results";

    Path out(String command) {
        if (out == null) {
            out = defaultOut(command);
        }
        return out;
    }

    /** {@code bench-results/COMMAND-TIMESTAMP}. */
    static Path defaultOut(String command) {
        return Path.of(RESULTS, command + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    }

    /** The load's shape for a result's configuration; {@code rates} as the command plans them. */
    JsonObject config(List<Double> rates) {
        return new JsonObject()
            .put("pairs", pairs)
            .put("rates", rates)
            .put("primeSeconds", primeSeconds)
            .put("primeRate", primeRate)
            .put("warmupSeconds", warmupSeconds)
            .put("durationSeconds", durationSeconds)
            .put("payloadBytes", payloadBytes)
            .put("loadProcesses", loadProcesses)
            .put("loadJvmArgs", loadJvmArgs)
            .put("spinMicros", spinMicros)
            .put("targetOptions", new JsonObject(new HashMap<>(targetOptions)));
    }

    void validate() {
        require(pairs >= 1, "--pairs must be at least 1");
        require(warmupSeconds >= 0, "--warmup must not be negative");
        require(primeSeconds >= 0 && primeRate > 0, "--prime must not be negative and --prime-rate must be positive");
        require(durationSeconds > 0, "--duration must be positive");
        require(payloadBytes >= io.courier.bench.load.Payloads.MIN_SIZE, "--payload must be at least 8 bytes (the timestamp)");
        require(loadProcesses >= 1 && loadProcesses <= pairs, "--load-processes must be between 1 and --pairs");
        require(!targetOptions.containsKey(io.courier.bench.load.Targets.ROUND_TRIP),
            "--target-option " + io.courier.bench.load.Targets.ROUND_TRIP + "=… is not an option: run the rtt command for round trips");
    }

    static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }
}
