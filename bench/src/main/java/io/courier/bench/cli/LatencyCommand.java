package io.courier.bench.cli;

import io.courier.bench.fleet.ReportHub;
import io.courier.bench.report.BenchResult;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code latency}: each listed system in turn, M pairs at an aggregate rate R (several rates
 * possible), open loop; one table with every system, the floors and the peer side by side, and
 * the ratios to the raw relay floor when it ran too.
 */
@Command(name = "latency", mixinStandardHelpOptions = true,
    description = "One-way latency and time to accepted per transport, open loop at fixed rates.")
public class LatencyCommand implements Callable<Integer> {

    @Mixin
    LoadOptions load;

    @Spec
    CommandSpec spec;

    @Mixin
    SystemOptions select;

    @Option(names = "--rate", split = ",", defaultValue = "2000",
        description = "Aggregate messages per second; several give one step each (default ${DEFAULT-VALUE}).")
    List<Double> rates = new ArrayList<>();

    /** The systems this command measures. */
    List<SystemSpec> systems() {
        return select.systems(load, List.of());
    }

    String name() {
        return spec.name();
    }

    /** Refuses options this command inherits but does not take: mixing systems is latency's job. */
    void refuse(String... options) {
        for (String option : options) {
            LoadOptions.require(!spec.commandLine().getParseResult().hasMatchedOption(option),
                name() + " does not take " + option + "; 'latency' measures transports, floors and a peer together");
        }
    }

    @Override
    public Integer call() throws Exception {
        load.validate();
        LoadOptions.require(rates.stream().allMatch(r -> r > 0), "--rate must be positive");
        List<SystemSpec> systems = systems();
        Path out = load.out(name());
        BenchResult result = BenchResult.begin(name(), BenchMain.arguments(), LoadRunner.config(load, rates)
            .put("systems", systems.stream().map(SystemSpec::name).toList()));
        try (ReportHub hub = ReportHub.start()) {
            LoadRunner runner = new LoadRunner(hub, load, result, out);
            for (SystemSpec system : systems) {
                runner.with(system, session -> {
                    for (double rate : rates) {
                        session.step(rate, "latency");
                    }
                });
            }
        }
        return BenchMain.publish(result, out);
    }
}
