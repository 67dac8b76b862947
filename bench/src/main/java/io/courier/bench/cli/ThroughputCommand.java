package io.courier.bench.cli;

import io.courier.bench.fleet.Fleet;
import io.courier.bench.fleet.ReportHub;
import io.courier.bench.report.BenchResult;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code throughput}: per system, steps the offered rate up (×{@code --factor}) until a step
 * fails — one-way p99 above the bound, a message lost or refused, or the achieved rate more than
 * 5% short of the offered one — then bisects between the last good and the first bad rate. The
 * highest good rate is what the system sustains within the bound.
 */
@Command(name = "throughput", mixinStandardHelpOptions = true, versionProvider = BenchVersion.class,
    description = "The highest rate each system sustains with one-way p99 within a bound.")
public final class ThroughputCommand implements Callable<Integer> {

    @Mixin
    LoadOptions load;

    @Mixin
    TransportOptions transports;

    @Mixin
    ServerSettingsOptions server;

    @Mixin
    ServerJvmOptions jvm;

    @Mixin
    FloorOptions floors;

    @Mixin
    PeerOptions peer;

    @Option(names = "--p99-bound-ms", defaultValue = "10", description = "The p99 bound (default ${DEFAULT-VALUE} ms).")
    double boundMs;

    @Option(names = "--start-rate", defaultValue = "10000", description = "First rate (default ${DEFAULT-VALUE}/s).")
    double startRate;

    @Option(names = "--factor", defaultValue = "1.5", description = "Rate multiplier per step (default ${DEFAULT-VALUE}).")
    double factor;

    @Option(names = "--max-rate", defaultValue = "1000000", description = "Stop stepping here (default ${DEFAULT-VALUE}/s).")
    double maxRate;

    @Option(names = "--refine", defaultValue = "2", description = "Bisection steps after the first failure (default ${DEFAULT-VALUE}).")
    int refine;

    @Override
    public Integer call() throws Exception {
        load.validate();
        LoadOptions.require(factor > 1, "--factor must be above 1");
        LoadOptions.require(startRate > 0 && maxRate >= startRate, "--start-rate must be positive and at most --max-rate");
        List<SystemSpec> systems = new ArrayList<>(SystemSpec.courier(transports.named(), server.storage, server.settings,
            jvm.serverJvmArgs));
        systems.addAll(SystemSpec.floors(floors.named(), jvm.serverJvmArgs));
        systems.addAll(peer.systems());
        SystemSpec.nonEmpty(systems, "--transports, --floors or --peer");
        Path out = load.out("throughput");
        BenchResult result = BenchResult.begin("throughput", BenchMain.arguments(), load.config(List.of())
            .put("serverJvmArgs", jvm.serverJvmArgs).put("storage", server.storage).put("settings", server.settings)
            .put("p99BoundMs", boundMs).put("startRate", startRate).put("factor", factor).put("maxRate", maxRate)
            .put("refine", refine).put("systems", systems.stream().map(SystemSpec::name).toList()));
        try (ReportHub hub = ReportHub.start()) {
            LoadRunner runner = new LoadRunner(hub, load, result, out);
            for (SystemSpec system : systems) {
                JsonObject summary = new JsonObject().put("name", system.name()).put("boundMs", boundMs).put("best", 0.0);
                runner.with(system, session -> {
                    double good = 0;
                    double bad = 0;
                    for (double rate = startRate; rate <= maxRate; rate *= factor) {
                        if (!passes(session.step(rate, "throughput"), summary)) {
                            bad = rate;
                            break;
                        }
                        good = rate;
                    }
                    for (int i = 0; i < refine && bad > 0; i++) {
                        double rate = good > 0 ? (good + bad) / 2 : bad / factor;
                        if (passes(session.step(rate, "throughput"), summary)) {
                            good = rate;
                        } else {
                            bad = rate;
                        }
                    }
                    if (bad > 0) {
                        summary.put("failedAt", bad);
                    }
                });
                result.addThroughput(summary);
            }
        }
        return BenchMain.publish(result, out);
    }

    /** Whether a step sustained its rate; a passing step raises the summary's best. */
    private boolean passes(Fleet.Step step, JsonObject summary) {
        long p99 = step.oneWay().getValueAtPercentile(99);
        String reason = null;
        if (step.lost() > 0 || step.failed() > 0) {
            reason = step.lost() + " lost, " + step.failed() + " failed";
        } else if (p99 > boundMs * 1e6) {
            reason = String.format("p99 %.2f ms", p99 / 1e6);
        } else if (step.achievedRate() < 0.95 * step.rate()) {
            reason = String.format("achieved only %,.0f/s", step.achievedRate());
        }
        if (reason != null) {
            summary.put("reason", reason + " at " + String.format("%,.0f/s", step.rate()));
            return false;
        }
        if (step.rate() > summary.getDouble("best")) {
            summary.put("best", step.rate()).put("bestP99", p99).put("bestAchieved", step.achievedRate());
        }
        return true;
    }
}
