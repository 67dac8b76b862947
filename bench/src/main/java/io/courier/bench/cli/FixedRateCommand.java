package io.courier.bench.cli;

import io.courier.bench.fleet.ReportHub;
import io.courier.bench.report.BenchResult;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The latency scenario — each system in turn, M pairs at an aggregate rate R (several rates
 * possible), open loop — whatever the systems are. Each command says which systems it takes,
 * and so declares only the options that choose them.
 */
abstract class FixedRateCommand implements Callable<Integer> {

    @Mixin
    LoadOptions load;

    @Spec
    CommandSpec spec;

    @Option(names = "--rate", split = ",", defaultValue = "2000",
        description = "Aggregate messages per second; several give one step each (default ${DEFAULT-VALUE}).")
    List<Double> rates = new ArrayList<>();

    /** The systems to measure, in order. */
    abstract List<SystemSpec> systems();

    /** How the systems were configured, for the result ({@code load}'s shape is added). */
    abstract JsonObject systemConfig();

    /** What each step is recorded as: {@code latency} (one way) unless a command says otherwise. */
    String purpose() {
        return "latency";
    }

    /** Target options the command itself sets, over {@code --target-option}'s. */
    Map<String, String> targetOptions() {
        return Map.of();
    }

    @Override
    public Integer call() throws Exception {
        load.validate();
        LoadOptions.require(rates.stream().allMatch(r -> r > 0), "--rate must be positive");
        List<SystemSpec> systems = systems();
        load.targetOptions.putAll(targetOptions());
        Path out = load.out(spec.name());
        BenchResult result = BenchResult.begin(spec.name(), BenchMain.arguments(), load.config(rates)
            .mergeIn(systemConfig()).put("systems", systems.stream().map(SystemSpec::name).toList()));
        try (ReportHub hub = ReportHub.start()) {
            LoadRunner runner = new LoadRunner(hub, load, result, out);
            for (SystemSpec system : systems) {
                runner.with(system, session -> {
                    for (double rate : rates) {
                        session.step(rate, purpose());
                    }
                });
            }
        }
        return BenchMain.publish(result, out);
    }
}
