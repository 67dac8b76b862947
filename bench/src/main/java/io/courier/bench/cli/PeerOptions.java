package io.courier.bench.cli;

import java.util.List;
import picocli.CommandLine.Option;

/** An MQTT peer measured in the same run as Courier (the {@code peer} command has its own default). */
final class PeerOptions {

    @Option(names = "--peer", description = "An MQTT peer in the same run: 'mosquitto' starts one, "
        + "mqtt://HOST:PORT uses a running broker.")
    String peer;

    @Option(names = "--peer-pid", defaultValue = "-1",
        description = "The peer broker's process id, if it cannot be found from its port.")
    long peerPid;

    /** The peer named, as a list of none or one. */
    List<SystemSpec> systems() {
        return peer == null ? List.of() : List.of(SystemSpec.peer(peer, peerPid));
    }
}
