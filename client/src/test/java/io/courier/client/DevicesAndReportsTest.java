package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DevicesAndReportsTest {

    @TempDir
    Path dir;

    /** A clock the test moves. */
    static final class MovableClock extends Clock {
        final AtomicLong millis = new AtomicLong(1_700_000_000_000L);

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis.get());
        }
    }

    @Test
    void shouldShowACopyOfWhatAnotherDeviceSentAsOutgoingWithTheSameTicks() throws Exception {
        try (TestServer server = new TestServer(dir).start();
             CourierClient phone = Clients.open(server, "alice", dir.resolve("phone.db"), new Recorder());
             CourierClient laptop = Clients.builder(server.tcp(), "alice", server.tokens("alice"),
                 dir.resolve("laptop.db"), new Recorder()).device("laptop").build();
             CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), new Recorder())) {
            await().atMost(30, SECONDS).until(() -> laptop.status().state() == ConnectionState.CONNECTED);
            String id = phone.sendText("bob", "from my phone");

            await().atMost(30, SECONDS).until(() -> laptop.history("bob").size() == 1);
            Message copy = laptop.history("bob").get(0);
            assertThat(copy.direction()).isEqualTo(Direction.OUTGOING);
            assertThat(copy.clientId()).isEqualTo(id);
            assertThat(copy.senderDevice()).isEqualTo("1");
            assertThat(copy.text()).isEqualTo("from my phone");
            assertThat(laptop.unreadCount("bob")).isZero();

            await().atMost(30, SECONDS).until(() -> bob.history("alice").size() == 1);
            bob.markRead("alice");
            await().atMost(30, SECONDS).until(() -> phone.message(id).orElseThrow().state() == MessageState.READ
                && laptop.history("bob").get(0).state() == MessageState.READ);
            assertThat(bob.unreadCount("alice")).isZero();
            assertThat(bob.history("alice").get(0).state()).isEqualTo(MessageState.READ);
        }
    }

    @Test
    void shouldReportAMessageStillUnsentAfterTheConfiguredTimeAndKeepIt() throws Exception {
        MovableClock clock = new MovableClock();
        Recorder saw = new Recorder();
        int closedPort = TestServer.freePort();
        try (CourierClient alice = CourierClient.builder().server(URI.create("tcp://127.0.0.1:" + closedPort))
            .user("alice").token(() -> "unused").database(dir.resolve("alice.db")).clock(clock)
            .unsentAfter(Duration.ofMinutes(5)).listener(saw).build()) {
            String early = alice.sendText("bob", "early");
            clock.millis.addAndGet(Duration.ofMinutes(3).toMillis());
            String later = alice.sendText("bob", "later");
            clock.millis.addAndGet(Duration.ofMinutes(3).toMillis());

            await().atMost(30, SECONDS).until(() -> !saw.notSentYet.isEmpty());
            assertThat(saw.notSentYet).extracting(Message::clientId).containsExactly(early);
            clock.millis.addAndGet(Duration.ofMinutes(3).toMillis());
            await().atMost(30, SECONDS).until(() -> saw.notSentYet.size() == 2);
            assertThat(saw.notSentYet).extracting(Message::clientId).containsExactly(early, later);
            assertThat(alice.history("bob")).extracting(Message::state)
                .containsExactly(MessageState.PENDING, MessageState.PENDING);
            assertThat(alice.status().state()).isIn(ConnectionState.OFFLINE, ConnectionState.CONNECTING);
            assertThat(alice.status().queued()).isEqualTo(2);
        }
    }
}
