package io.courier.bench.cli;

import java.util.List;
import picocli.CommandLine.Command;

/**
 * {@code peer}: the latency scenario against an MQTT broker, QoS 1 both ways. {@code --peer
 * mosquitto} (the default) starts a local mosquitto; {@code --peer mqtt://HOST:PORT} uses one
 * already running. {@code latency --peer …} puts it in the same table as the transports.
 */
@Command(name = "peer", mixinStandardHelpOptions = true,
    description = "The latency scenario against an MQTT broker (QoS 1 both ways).")
public final class PeerCommand extends LatencyCommand {

    @Override
    List<SystemSpec> systems() {
        refuse("--transports", "--floors");
        select.transports = List.of();
        if (select.peer == null) {
            select.peer = "mosquitto";
        }
        return super.systems();
    }
}
