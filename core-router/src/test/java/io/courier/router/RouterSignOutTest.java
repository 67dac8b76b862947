package io.courier.router;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.router.auth.AuthResult;
import io.courier.router.auth.Authenticator;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.memory.InMemoryStorageProvider;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What a revocation does to sessions already open: those whose credentials were issued before the
 * cutoff, or at an unknown time, are closed with AUTH_FAILED; the user's later ones and everyone
 * else's stay.
 */
class RouterSignOutTest {

    /** Reads the token as its issue time in ms; "unknown" carries none. */
    private static final Authenticator ISSUED_AT = new Authenticator() {
        @Override
        public AuthResult authenticate(String user, String device, String token, long nowMs) {
            return token.equals("unknown") ? AuthResult.success() : AuthResult.success(Long.parseLong(token));
        }

        @Override
        public String name() {
            return "issued-at";
        }
    };

    private final List<RecordingConnection> connections = new ArrayList<>();
    private StorageBackend storage;
    private Router router;

    @BeforeEach
    void start() {
        storage = new InMemoryStorageProvider().open(new StorageConfig(Path.of("unused"), Map.of()));
        router = new Router(RouterConfig.defaults(), storage, ISSUED_AT, new SimpleMeterRegistry(),
            new MutableClock(Instant.parse("2026-01-01T00:00:00Z"))).start();
    }

    @AfterEach
    void stop() throws Exception {
        for (RecordingConnection connection : connections) {
            connection.shutdown();
        }
        router.close();
        storage.close();
    }

    private RecordingConnection hello(String user, String device, String token) {
        RecordingConnection connection = new RecordingConnection(router);
        connections.add(connection);
        connection.receive(Frame.newBuilder().setHello(Hello.newBuilder().setUser(user).setDevice(device)
            .setToken(token)).build());
        await().atMost(10, SECONDS).until(() -> connection.written.stream().anyMatch(Frame::hasWelcome));
        return connection;
    }

    @Test
    void shouldCloseTheSessionsARevocationCoversAndNoOthers() {
        RecordingConnection old = hello("alice", "phone", "1000");
        RecordingConnection unknown = hello("alice", "tablet", "unknown");
        RecordingConnection fresh = hello("alice", "laptop", "3000");
        RecordingConnection bob = hello("bob", "1", "1000");

        assertThat(router.signOut("alice", 2000, "Your token was revoked")).isEqualTo(2);

        for (RecordingConnection closed : List.of(old, unknown)) {
            assertThat(closed.isOpen()).isFalse();
            Error error = closed.written.get(closed.written.size() - 1).getError();
            assertThat(error.getCode()).isEqualTo(Error.Code.AUTH_FAILED);
            assertThat(error.getText()).isEqualTo("Your token was revoked");
            assertThat(error.getFatal()).isTrue();
        }
        assertThat(fresh.isOpen()).as("issued after the cutoff").isTrue();
        assertThat(bob.isOpen()).as("another user").isTrue();
        await().atMost(10, SECONDS).until(() -> router.sessionCount() == 2);
        assertThat(router.signOut("alice", 2000, "again")).as("nothing left to close").isZero();
    }
}
