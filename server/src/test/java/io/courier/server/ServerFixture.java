package io.courier.server;

import io.courier.transport.TransportClient;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportSettings;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A real server on loopback with free ports, a TCP client, and helpers to make users. */
final class ServerFixture implements AutoCloseable {

    final CourierServer server;
    final TransportClient client;
    final URI tcp;
    /** The server's clock: tokens are minted by it, since the server checks them by it. */
    private final java.time.Clock clock;
    private final List<TestClient> users = new ArrayList<>();
    private final java.util.Map<String, TransportClient> clients = new java.util.TreeMap<>();

    ServerFixture(Path dataDir, String... extraOverrides) {
        this(dataDir, java.time.Clock.systemUTC(), extraOverrides);
    }

    ServerFixture(Path dataDir, java.time.Clock clock, String... extraOverrides) {
        this.clock = clock;
        List<String> overrides = new ArrayList<>(List.of(
            "data-dir=" + dataDir,
            "transports.tcp.port=0",
            "transports.ws.port=0",
            "transports.longpoll.port=0",
            "transports.udp.port=0",
            "admin.port=0",
            "media.port=0"));
        overrides.addAll(List.of(extraOverrides));
        server = CourierServer.start(ConfigLoader.load(null, overrides), clock);
        tcp = server.address("tcp");
        client = TransportProviders.find("tcp").createClient(TransportSettings.of(0));
        for (String name : server.config().transports().keySet()) {
            clients.put(name, TransportProviders.find(name).createClient(TransportSettings.of(0)));
        }
    }

    /** A user on the named transport. */
    TestClient user(String transport, String user) {
        return new TestClient(clients.get(transport), server.address(transport), user, "1", token(user));
    }

    /** A token for any of the user's devices, issued now by the server's clock, valid for an hour. */
    String token(String user) {
        long now = clock.millis();
        return token(user, "*", now, now + Duration.ofHours(1).toMillis());
    }

    /** A token as the server's keys sign it, with any times: expired, too long, issued long ago. */
    String token(String user, String device, long issuedMs, long expiresMs) {
        return io.courier.router.auth.HmacTokenAuthenticator.mint(
            io.courier.router.auth.HmacKeyring.read(io.courier.server.cli.HmacAdmin.keyDirectory(server.config())),
            user, device, issuedMs, expiresMs);
    }

    /** The data directory the server runs on. */
    Path dataDir() {
        return server.config().dataDirectory();
    }

    TestClient user(String user) {
        return device(user, "1");
    }

    TestClient device(String user, String device) {
        TestClient c = new TestClient(client, tcp, user, device, token(user));
        synchronized (users) {
            users.add(c);
        }
        return c;
    }

    @Override
    public void close() {
        client.close();
        clients.values().forEach(TransportClient::close);
        server.close();
    }
}
