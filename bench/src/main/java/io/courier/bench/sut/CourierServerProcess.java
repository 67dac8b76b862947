package io.courier.bench.sut;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The Courier server executable in its own JVM, serving one transport on a free loopback port, so
 * that its heap, GC and threads are its own and not the load generator's.
 */
public final class CourierServerProcess extends ChildJvmSystem {

    private static final List<String> TRANSPORTS = List.of("tcp", "udp", "ws", "longpoll");

    private CourierServerProcess(String transport, String address, ChildProcess child, List<String> jvmArgs,
                                 List<String> overrides) {
        super(transport, Kind.COURIER, address, child, Map.of("transport", transport, "jvmArgs", jvmArgs,
            "settings", overrides));
    }

    /**
     * Starts the server with only {@code transport} enabled.
     *
     * @param storage   memory, rocksdb or postgres (its options go in {@code settings}).
     * @param jvmArgs   the server JVM's flags, e.g. -Xmx1g.
     * @param settings  further {@code key=value} configuration overrides, as for {@code --set}.
     * @param dir       data directory and log go here.
     */
    public static CourierServerProcess start(String transport, String storage, List<String> jvmArgs,
                                             List<String> settings, Path dir) throws IOException {
        if (!TRANSPORTS.contains(transport)) {
            throw new IllegalArgumentException("Unknown transport '" + transport + "': use " + TRANSPORTS);
        }
        int port = freePort();
        List<String> overrides = new ArrayList<>(List.of(
            "data-dir=" + dir.resolve("data"),
            "storage.backend=" + storage,
            // The load generators are anonymous test users.
            "auth.mode=insecure",
            "admin.port=0", "media.port=0",
            // Idle benchmark connections send no heartbeats; the router must not evict them.
            "router.heartbeat-interval-ms=3600000",
            "router.hello-timeout-ms=3600000",
            // A load generator's connection sends thousands of frames a second: lift the per-connection
            // rate limits, which are for people's devices.
            "router.frames-per-second=2147483647",
            "router.frame-burst=2147483647",
            "router.bytes-per-second=2147483647",
            "router.byte-burst=2147483647",
            // Every load connection comes from one address: lift the per-address connection limit.
            "limits.max-connections-per-address=100000000"));
        for (String name : TRANSPORTS) {
            overrides.add("transports." + name + (name.equals(transport) ? ".port=" + port : ".enabled=false"));
        }
        if (transport.equals("udp")) {
            // Every load connection comes from one address: lift the per-address handshake limit.
            overrides.add("transports.udp.options.handshakes-per-second=1000000");
            overrides.add("transports.udp.options.handshake-burst=1000000");
        }
        overrides.addAll(settings);
        List<String> command = JavaCommand.of(jvmArgs, "io.courier.server.Main");
        for (String override : overrides) {
            command.add("--set");
            command.add(override);
        }
        ChildProcess child = ChildProcess.start(command, dir.resolve("server-" + transport + ".log"),
            line -> line.contains("Courier ready"), 120);
        return new CourierServerProcess(transport, address(transport, port), child, jvmArgs, overrides);
    }

    private static String address(String transport, int port) {
        return switch (transport) {
            case "tcp" -> "tcp://127.0.0.1:" + port;
            case "udp" -> "udp://127.0.0.1:" + port;
            case "ws" -> "ws://127.0.0.1:" + port + "/ws";
            default -> "http://127.0.0.1:" + port + "/lp";
        };
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
