package io.courier.bench.cli;

import io.vertx.core.json.JsonObject;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code peer}: the latency scenario against an MQTT broker, QoS 1 both ways. {@code --peer
 * mosquitto} (the default) starts a local mosquitto; {@code --peer mqtt://HOST:PORT} uses one
 * already running. {@code latency --peer …} puts it in the same table as the transports.
 */
@Command(name = "peer", mixinStandardHelpOptions = true, versionProvider = BenchVersion.class,
    description = "The latency scenario against an MQTT broker (QoS 1 both ways). "
        + "'latency --peer' measures it beside Courier's transports.")
public final class PeerCommand extends FixedRateCommand {

    @Option(names = "--peer", defaultValue = "mosquitto",
        description = "The broker: 'mosquitto' starts one, mqtt://HOST:PORT uses a running one (default ${DEFAULT-VALUE}).")
    String peer;

    @Option(names = "--peer-pid", defaultValue = "-1",
        description = "The broker's process id, if it cannot be found from its port.")
    long peerPid;

    @Override
    List<SystemSpec> systems() {
        return List.of(SystemSpec.peer(peer, peerPid));
    }

    @Override
    JsonObject systemConfig() {
        return new JsonObject().put("peer", peer);
    }
}
