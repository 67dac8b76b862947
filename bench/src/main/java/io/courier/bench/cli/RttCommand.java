package io.courier.bench.cli;

import io.courier.bench.load.Targets;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code rtt}: the latency scenario as a chat feels it. For each pair A, B: A sends to B at the
 * scheduled time, B replies to A as soon as the message arrives, and the round trip is the time
 * from A's schedule to the reply's arrival at A. Both legs go through the whole protocol with
 * every tick (Courier: Accepted, delivery ack, receipt and its ack; MQTT: QoS 1 PUBLISH and PUBACK
 * both ways). The rate counts round trips.
 */
@Command(name = "rtt", mixinStandardHelpOptions = true, versionProvider = BenchVersion.class,
    description = "Round-trip time (A → B, B replies at once, B → A) per transport, open loop at fixed rates; "
        + "an MQTT peer in the same table. --rate counts round trips per second.")
public final class RttCommand extends FixedRateCommand {

    /** What each step is recorded as in the result. */
    public static final String PURPOSE = "rtt";

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
        LoadOptions.require(floors.named().stream().allMatch(f -> f.equals("relay")),
            "--floors for rtt can only be relay (the Aeron floors carry one way), was " + floors.floors);
        systems.addAll(SystemSpec.floors(floors.named(), jvm.serverJvmArgs));
        systems.addAll(peer.systems());
        return SystemSpec.nonEmpty(systems, "--transports, --floors relay or --peer");
    }

    @Override
    JsonObject systemConfig() {
        return new JsonObject().put("serverJvmArgs", jvm.serverJvmArgs).put("storage", server.storage)
            .put("settings", server.settings).put("roundTrip", true);
    }

    @Override
    String purpose() {
        return PURPOSE;
    }

    @Override
    Map<String, String> targetOptions() {
        return Map.of(Targets.ROUND_TRIP, "true");
    }
}
