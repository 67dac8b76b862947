package io.courier.client;

import io.courier.server.ConfigLoader;
import io.courier.server.CourierServer;
import io.courier.server.Main;
import io.courier.server.ServerConfig;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * A real Courier server in this JVM on RocksDB, on a TCP port fixed at construction so it can be
 * stopped and started again at the same address (and clients can be pointed at it before it runs).
 */
final class TestServer implements AutoCloseable {

    final Path dataDir;
    final int tcpPort;
    private final List<String> overrides;
    private CourierServer server;

    TestServer(Path dir, String... overrides) throws IOException {
        this.dataDir = dir.resolve("server-data");
        this.tcpPort = freePort();
        List<String> all = new ArrayList<>(List.of(
            "data-dir=" + dataDir,
            "transports.tcp.port=" + tcpPort,
            "transports.ws.port=0",
            "transports.longpoll.port=0",
            "transports.udp.port=0",
            "admin.port=0",
            "media.port=0"));
        all.addAll(List.of(overrides));
        this.overrides = List.copyOf(all);
    }

    synchronized TestServer start() {
        server = CourierServer.start(ConfigLoader.load(null, overrides));
        return this;
    }

    synchronized void stop() {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    synchronized CourierServer server() {
        return server;
    }

    URI tcp() {
        return URI.create("tcp://127.0.0.1:" + tcpPort);
    }

    /**
     * Tokens for {@code user}, minted when asked with the keys the server made on its first start;
     * before that the supplier throws, as a token service that cannot be reached would.
     */
    Supplier<String> tokens(String user) {
        return () -> token(user);
    }

    String token(String user) {
        ServerConfig config = ConfigLoader.load(null, overrides);
        return Main.mint(config, user, "*", Duration.ofHours(1));
    }

    /** A token that expired an hour ago (the server answers TOKEN_EXPIRED). */
    String expiredToken(String user) {
        ServerConfig config = ConfigLoader.load(null, overrides);
        long now = System.currentTimeMillis();
        return io.courier.router.auth.HmacTokenAuthenticator.mint(io.courier.router.auth.HmacKeyring.read(
            io.courier.server.cli.HmacAdmin.keyDirectory(config)), user, "*", now - 7_200_000, now - 3_600_000);
    }

    @Override
    public void close() {
        stop();
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
