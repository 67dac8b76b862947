package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

import io.courier.transport.proto.Error.Code;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Heartbeat;
import io.courier.transport.proto.Presence;
import io.courier.transport.proto.PresenceQuery;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Heartbeats keep a session alive, missed ones close it, and presence answers online or last seen. */
class HeartbeatPresenceTest {

    @TempDir
    Path dataDir;

    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));

    @Test
    void shouldCloseAfterMissedHeartbeatsAndReportLastSeen() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir, clock)) {
            TestClient alice = fixture.user("alice").connect();
            TestClient bob = fixture.user("bob").connect();
            assertThat(query(bob, "alice").getOnline()).isTrue();

            // Ten seconds on, alice beats; bob asks something so we know his frames were handled.
            clock.advance(Duration.ofSeconds(10));
            alice.raw(Frame.newBuilder().setHeartbeat(Heartbeat.newBuilder()).build());
            query(alice, "bob");
            query(bob, "alice");
            long aliceLastBeat = clock.millis();

            // Ten more: bob is 10 s since his last frame, alice 10 s since her beat; limit is 3 x 5 s.
            clock.advance(Duration.ofSeconds(10));
            fixture.server.router().sweep();
            assertThat(alice.isOpen()).isTrue();
            assertThat(bob.isOpen()).isTrue();

            // Sixteen seconds without a frame from alice: she is closed with IDLE_TIMEOUT.
            bob.raw(Frame.newBuilder().setHeartbeat(Heartbeat.newBuilder()).build());
            query(bob, "alice");
            clock.advance(Duration.ofSeconds(6));
            fixture.server.router().sweep();
            assertThat(alice.nextError().getCode()).isEqualTo(Code.IDLE_TIMEOUT);
            alice.closedFuture().get(TestClient.TIMEOUT_SECONDS, SECONDS);

            Presence presence = awaitOffline(bob, "alice");
            assertThat(presence.getLastSeenMs()).as("last seen is her last activity, not the close")
                .isEqualTo(aliceLastBeat);
            assertThat(query(bob, "nobody-ever").getLastSeenMs()).isZero();
        }
    }

    private static Presence awaitOffline(TestClient asker, String user) throws Exception {
        // The close is handled on the server's I/O thread; ask until it has been.
        Presence presence = query(asker, user);
        for (int i = 0; i < 100 && presence.getOnline(); i++) {
            presence = query(asker, user);
        }
        assertThat(presence.getOnline()).isFalse();
        return presence;
    }

    private static Presence query(TestClient asker, String user) throws Exception {
        asker.raw(Frame.newBuilder().setRequestId(1).setPresenceQuery(PresenceQuery.newBuilder().setUser(user)).build());
        Frame answer = asker.others.poll(TestClient.TIMEOUT_SECONDS, SECONDS);
        assertThat(answer).isNotNull();
        assertThat(answer.hasPresence()).as("%s", answer).isTrue();
        return answer.getPresence();
    }
}
