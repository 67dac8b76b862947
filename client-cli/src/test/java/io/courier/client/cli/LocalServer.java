package io.courier.client.cli;

import io.courier.server.ConfigLoader;
import io.courier.server.CourierServer;
import io.courier.server.Main;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A real Courier server in the test's JVM, on RocksDB and a TCP port chosen once, so it can be
 * stopped and started again on the same data directory at the same address.
 */
final class LocalServer implements AutoCloseable {

    final Path dataDir;
    final int tcpPort;
    private final List<String> overrides;
    private CourierServer server;

    LocalServer(Path dir) throws IOException {
        this.dataDir = dir.resolve("server-data");
        try (ServerSocket socket = new ServerSocket(0)) {
            this.tcpPort = socket.getLocalPort();
        }
        this.overrides = List.of("data-dir=" + dataDir, "transports.tcp.port=" + tcpPort, "transports.ws.port=0",
            "transports.longpoll.port=0", "transports.udp.port=0", "admin.port=0",
            "media.port=0");
    }

    synchronized LocalServer start() {
        server = CourierServer.start(ConfigLoader.load(null, overrides));
        return this;
    }

    synchronized void stop() {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    URI address() {
        return URI.create("tcp://127.0.0.1:" + tcpPort);
    }

    /** A token for any device of {@code user}, as 'courier-server token USER' prints one. */
    String token(String user) {
        return Main.mint(ConfigLoader.load(null, overrides), user, "*", Duration.ofHours(1));
    }

    @Override
    public void close() {
        stop();
    }
}
