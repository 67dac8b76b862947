package io.courier.bench.cli;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code latency}: each listed system in turn, M pairs at an aggregate rate R (several rates
 * possible), open loop; one table with every system, the floors and the peer side by side, and
 * the ratios to the raw relay floor when it ran too.
 */
@Command(name = "latency", mixinStandardHelpOptions = true, versionProvider = BenchVersion.class,
    description = "One-way latency and time to accepted per transport, open loop at fixed rates; "
        + "floors and an MQTT peer in the same table.")
public final class LatencyCommand extends FixedRateCommand {

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

    @Override
    List<SystemSpec> systems() {
        List<SystemSpec> systems = new ArrayList<>(SystemSpec.courier(transports.named(), server.storage, server.settings,
            jvm.serverJvmArgs));
        systems.addAll(SystemSpec.floors(floors.named(), jvm.serverJvmArgs));
        systems.addAll(peer.systems());
        return SystemSpec.nonEmpty(systems, "--transports, --floors or --peer");
    }

    @Override
    JsonObject systemConfig() {
        return new JsonObject().put("serverJvmArgs", jvm.serverJvmArgs).put("storage", server.storage)
            .put("settings", server.settings);
    }
}
