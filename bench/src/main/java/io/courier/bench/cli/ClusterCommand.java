package io.courier.bench.cli;

import io.courier.bench.load.Targets;
import io.courier.bench.sut.CourierClusterProcess;
import io.courier.bench.sut.CourierServerProcess;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code cluster}: the round trip of {@code rtt} on a cluster of Courier nodes on this machine,
 * each pair's two users on different nodes, beside one node on the same store in the same run.
 * Several rates give the latency at each and the highest rate each sustains.
 */
@Command(name = "cluster", mixinStandardHelpOptions = true, versionProvider = BenchVersion.class,
    description = "Round-trip time across the nodes of a Courier cluster (each on PostgreSQL, with a redis-server "
        + "of its own), each pair's users on different nodes, beside a single node on the same store. --rate counts "
        + "round trips per second; --set must name the PostgreSQL store (storage.options.url and the like).")
public final class ClusterCommand extends FixedRateCommand {

    @Option(names = "--nodes", defaultValue = "3", description = "Cluster nodes, each a process (default ${DEFAULT-VALUE}).")
    int nodes;

    @Option(names = "--transport", defaultValue = "tcp", description = "The transport every node serves "
        + "(default ${DEFAULT-VALUE}).")
    String transport;

    @Option(names = "--set", description = "A Courier server setting for every node and the single one, as its --set "
        + "takes it (storage.options.url=jdbc:postgresql://…). Repeatable.")
    List<String> settings = new java.util.ArrayList<>();

    @Mixin
    ServerJvmOptions jvm;

    @Override
    List<SystemSpec> systems() {
        LoadOptions.require(nodes >= 2, "--nodes must be at least 2, was " + nodes);
        return List.of(
            new SystemSpec(transport + "-single", dir -> CourierServerProcess.start(transport, "postgres",
                jvm.serverJvmArgs, settings, dir)),
            new SystemSpec(transport + "-cluster", dir -> CourierClusterProcess.start(transport, nodes,
                jvm.serverJvmArgs, settings, dir)));
    }

    @Override
    JsonObject systemConfig() {
        return new JsonObject().put("serverJvmArgs", jvm.serverJvmArgs).put("storage", "postgres")
            .put("settings", settings).put("nodes", nodes).put("roundTrip", true);
    }

    @Override
    String purpose() {
        return RttCommand.PURPOSE;
    }

    @Override
    Map<String, String> targetOptions() {
        return Map.of(Targets.ROUND_TRIP, "true");
    }
}
