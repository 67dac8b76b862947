package io.courier.bench.cli;

import io.courier.bench.fleet.Fleet;
import io.courier.bench.fleet.ReportHub;
import io.courier.bench.report.BenchResult;
import io.courier.bench.report.Table;
import io.courier.bench.sut.SystemUnderTest;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs load against one system at a time: starts it, starts the load generators, opens the
 * pairs, and runs steps, each recorded in the result. Between systems everything is stopped, so
 * no system's leftovers (threads, sockets, page cache) run beside the next one.
 */
final class LoadRunner {

    private final ReportHub hub;
    private final LoadOptions load;
    private final BenchResult result;
    private final Path out;
    private boolean perfSaid;

    LoadRunner(ReportHub hub, LoadOptions load, BenchResult result, Path out) {
        this.hub = hub;
        this.load = load;
        this.result = result;
        this.out = out;
    }

    /** What the steps of one system see. */
    interface Session {
        /** Runs one step at {@code rate}, records it under {@code purpose}, and returns it. */
        Fleet.Step step(double rate, String purpose) throws Exception;
    }

    interface Plan {
        void run(Session session) throws Exception;
    }

    /** Starts {@code spec}, opens the pairs, hands a session to {@code plan}, stops everything. */
    void with(SystemSpec spec, Plan plan) throws Exception {
        Path dir = out.resolve("logs").resolve(spec.name());
        try (SystemUnderTest system = spec.start(dir)) {
            Map<String, String> options = new HashMap<>(load.targetOptions);
            options.putIfAbsent("user-prefix", spec.name() + "-" + Long.toHexString(System.nanoTime()));
            try (Fleet fleet = new Fleet(hub, load.loadProcesses, system.address(), options, load.loadJvmArgs, dir)) {
                fleet.openPairs(load.pairs);
                if (load.primeSeconds > 0) {
                    Progress bar = new Progress(spec.name() + " priming");
                    fleet.run(load.primeRate, 0, nanos(load.primeSeconds), load.payloadBytes,
                        TimeUnit.MICROSECONDS.toNanos(load.spinMicros), system.pids(), bar);
                    bar.done("primed");
                }
                JsonObject described = new JsonObject(new HashMap<>(system.describe()))
                    .put("address", system.address()).put("pairs", load.pairs);
                plan.run((rate, purpose) -> {
                    Progress bar = new Progress(spec.name() + " @ " + Table.count(rate) + "/s");
                    Fleet.Step step = fleet.run(rate, nanos(load.warmupSeconds), nanos(load.durationSeconds),
                        load.payloadBytes, TimeUnit.MICROSECONDS.toNanos(load.spinMicros), system.pids(), bar);
                    bar.done(String.format("achieved %s/s, p50 %s ms, p99 %s ms, lost %d%s",
                        Table.count(step.achievedRate()), Table.ms(step.oneWay().getValueAtPercentile(50)),
                        Table.ms(step.oneWay().getValueAtPercentile(99)), step.lost(),
                        step.failed() > 0 ? ", failed " + step.failed() + " (" + step.lastFailure() + ")" : ""));
                    JsonObject run = result.addRun(spec.name(), system.kind().name().toLowerCase(), described, purpose,
                        rate, step.sent(), step.received(), step.accepted(), step.failed(), step.lastFailure(),
                        step.achievedRate(), step.oneWay(), step.toAccepted(), step.sendLag());
                    // A round trip is two messages through the server.
                    long messages = step.sent() * (purpose.equals(RttCommand.PURPOSE) ? 2 : 1);
                    BenchResult.addUsage(run, step.usage(), messages);
                    if (!perfSaid && !step.usage().getJsonObject("instructions").getBoolean("supported")) {
                        perfSaid = true;
                        System.out.println("No instruction counts: "
                            + step.usage().getJsonObject("instructions").getString("reason"));
                    }
                    return step;
                });
            }
        }
    }

    static long nanos(double seconds) {
        return (long) (seconds * 1e9);
    }
}
