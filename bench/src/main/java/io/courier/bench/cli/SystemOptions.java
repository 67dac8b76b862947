package io.courier.bench.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** Which systems a command measures: Courier transports, floors, a peer. Shared by every command. */
final class SystemOptions {

    @Option(names = "--transports", split = ",", defaultValue = "tcp,udp,ws,longpoll",
        description = "Courier transports to measure (default ${DEFAULT-VALUE}; 'none' for none).")
    List<String> transports = new ArrayList<>();

    @Option(names = "--floors", split = ",", defaultValue = "none",
        description = "Floors to measure in the same run: relay, aeron-ipc, aeron-udp (default ${DEFAULT-VALUE}).")
    List<String> floors = new ArrayList<>();

    @Option(names = "--peer", description = "An MQTT peer in the same run: 'mosquitto' starts one, "
        + "mqtt://HOST:PORT uses a running broker.")
    String peer;

    @Option(names = "--peer-pid", defaultValue = "-1",
        description = "The peer broker's process id, if it cannot be found from its port.")
    long peerPid;

    /**
     * The systems named, Courier's started with {@code load}'s server options plus
     * {@code extraJvmArgs}; refuses an empty selection.
     */
    List<SystemSpec> systems(LoadOptions load, List<String> extraJvmArgs) {
        List<SystemSpec> systems = new ArrayList<>(SystemSpec.courier(named(transports), load, extraJvmArgs));
        systems.addAll(SystemSpec.floors(named(floors), load));
        if (peer != null) {
            systems.add(SystemSpec.peer(peer, peerPid));
        }
        LoadOptions.require(!systems.isEmpty(), "nothing to measure: name --transports, --floors or --peer");
        return systems;
    }

    /** The names given, without the 'none' that stands for an empty list. */
    static List<String> named(List<String> names) {
        return names.stream().filter(n -> !n.equals("none") && !n.isBlank()).toList();
    }
}
