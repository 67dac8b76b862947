package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.Counter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Heartbeats, {@code lastSeen}, presence events and privacy settings, against a real server over TCP. */
class PresenceTest {

    @TempDir
    Path dir;

    private static Presence answer(CompletableFuture<Presence> future) throws Exception {
        return future.get(30, SECONDS);
    }

    private static PrivacySettings stored(CompletableFuture<PrivacySettings> future) throws Exception {
        return future.get(30, SECONDS);
    }

    @Test
    void shouldKeepAnIdleSessionOpenWithHeartbeatsOnTheAnnouncedInterval() throws Exception {
        // A 1 s interval: a client that did not beat would be closed for idleness after 3 s.
        try (TestServer server = new TestServer(dir, "router.heartbeat-interval-ms=1000",
            "transports.longpoll.enabled=false").start()) {
            Recorder saw = new Recorder();
            try (CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), saw)) {
                await().atMost(30, SECONDS).until(() -> alice.status().state() == ConnectionState.CONNECTED);
                Counter framesIn = server.server().registry().get("courier.frames.in").counter();
                double atStart = framesIn.count();

                // An idle client sends nothing but heartbeats, at least half an interval apart:
                // twelve of them span at least two idle limits.
                await().atMost(60, SECONDS).until(() -> framesIn.count() >= atStart + 12);

                assertThat(saw.connectedCount()).as("connections made").isEqualTo(1);
                assertThat(alice.status().state()).isEqualTo(ConnectionState.CONNECTED);
                assertThat(server.server().registry().find("courier.errors").tag("code", "IDLE_TIMEOUT").counter())
                    .satisfiesAnyOf(c -> assertThat(c).isNull(), c -> assertThat(c.count()).isZero());
            }
        }
    }

    @Test
    void shouldAnswerOnlineWhileConnectedThenTheLastActivityAndUnknownForAUserNeverSeen() throws Exception {
        Instant before = Instant.now();
        try (TestServer server = new TestServer(dir).start();
             CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), new Recorder())) {
            CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), new Recorder());
            await().atMost(30, SECONDS).until(() -> bob.status().state() == ConnectionState.CONNECTED);

            Presence online = answer(alice.lastSeen("bob"));
            assertThat(online.user()).isEqualTo("bob");
            assertThat(online.online()).isTrue();
            assertThat(online.unknown()).isFalse();

            bob.close();
            await().atMost(30, SECONDS).until(() -> !answer(alice.lastSeen("bob")).online());
            Presence offline = answer(alice.lastSeen("bob"));
            assertThat(offline.lastSeen()).hasValueSatisfying(at -> assertThat(at).isBetween(before, Instant.now()));

            Presence never = answer(alice.lastSeen("nobody-ever"));
            assertThat(never.unknown()).isTrue();
            assertThat(never.online()).isFalse();
            assertThat(never.lastSeen()).isEmpty();
        }
    }

    @Test
    void shouldAskAQuestionPutWhileOfflineOnceConnected() throws Exception {
        TestServer server = new TestServer(dir);
        try (server; CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), new Recorder())) {
            CompletableFuture<Presence> asked = alice.lastSeen("alice");
            assertThat(asked).isNotDone();

            server.start();

            assertThat(answer(asked).online()).as("alice, asking about herself once connected").isTrue();
        }
    }

    @Test
    void shouldRefuseAMalformedUserAtOnceAndFailWhatIsUnansweredWhenClosed() throws Exception {
        int closedPort = TestServer.freePort();
        CourierClient alice = CourierClient.builder().server(java.net.URI.create("tcp://127.0.0.1:" + closedPort))
            .user("alice").token(() -> "unused").database(dir.resolve("alice.db")).build();
        assertThatThrownBy(() -> alice.lastSeen("not a user")).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("'not a user' is not a user id");
        assertThatThrownBy(() -> alice.addContacts(List.of("bob", "../etc"))).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("'../etc' is not a user id");
        CompletableFuture<Presence> never = alice.lastSeen("bob");

        alice.close();

        assertThat(never).failsWithin(30, SECONDS).withThrowableThat().havingCause()
            .isInstanceOf(IllegalStateException.class).withMessageContaining("closed before the server answered");
    }

    @Test
    void shouldAnnounceAWatchedUserComingOnlineAndGoingOfflineAndAgainAfterAReconnect() throws Exception {
        try (TestServer server = new TestServer(dir).start()) {
            Recorder aliceSaw = new Recorder();
            try (CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), aliceSaw)) {
                alice.watchPresence(List.of("bob"), false);
                await().atMost(30, SECONDS).until(() -> aliceSaw.latest("bob") != null);
                assertThat(aliceSaw.latest("bob").unknown()).as("bob, never seen yet").isTrue();

                CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), new Recorder());
                await().atMost(30, SECONDS).until(() -> aliceSaw.latest("bob").online());
                bob.close();
                await().atMost(30, SECONDS).until(() -> !aliceSaw.latest("bob").online());
                assertThat(aliceSaw.latest("bob").lastSeen()).isPresent();

                // The server's subscriptions end with the session: the client subscribes again.
                int before = aliceSaw.presence.size();
                server.stop();
                await().atMost(30, SECONDS).until(() -> alice.status().state() != ConnectionState.CONNECTED);
                server.start();
                await().atMost(30, SECONDS).until(() -> aliceSaw.presence.size() > before);
                assertThat(aliceSaw.latest("bob").online()).isFalse();
                assertThat(aliceSaw.latest("bob").lastSeen()).isPresent();

                try (CourierClient bobAgain = Clients.open(server, "bob", dir.resolve("bob.db"), new Recorder())) {
                    await().atMost(30, SECONDS).until(() -> aliceSaw.latest("bob").online());
                }
            }
        }
    }

    @Test
    void shouldHideAUsersPresenceFromThoseTheirSettingsDoNotAdmitAndFromThoseWhoHideTheirOwn() throws Exception {
        try (TestServer server = new TestServer(dir).start();
             CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), new Recorder());
             CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), new Recorder());
             CourierClient carol = Clients.open(server, "carol", dir.resolve("carol.db"), new Recorder())) {
            await().atMost(30, SECONDS).until(() -> bob.status().state() == ConnectionState.CONNECTED);
            assertThat(stored(bob.privacy())).isEqualTo(new PrivacySettings(PresenceVisibility.EVERYONE, List.of()));
            assertThat(answer(alice.lastSeen("bob")).online()).isTrue();

            PrivacySettings contactsOnly = stored(bob.setPresenceVisibility(PresenceVisibility.CONTACTS));
            assertThat(contactsOnly.visibility()).isEqualTo(PresenceVisibility.CONTACTS);
            assertThat(answer(alice.lastSeen("bob")).unknown()).as("alice, not bob's contact").isTrue();

            assertThat(stored(bob.addContacts(List.of("carol", "alice"))).contacts()).containsExactly("alice", "carol");
            assertThat(answer(alice.lastSeen("bob")).online()).as("alice, now bob's contact").isTrue();

            // Mutual: alice, hiding from everyone, sees no one either, though bob still admits her.
            assertThat(stored(alice.setPresenceVisibility(PresenceVisibility.NOBODY)).visibility())
                .isEqualTo(PresenceVisibility.NOBODY);
            assertThat(answer(alice.lastSeen("bob")).unknown()).isTrue();
            assertThat(answer(carol.lastSeen("bob")).online()).isTrue();
            assertThat(answer(bob.lastSeen("alice")).unknown()).isTrue();

            assertThat(stored(bob.removeContacts(List.of("carol"))).contacts()).containsExactly("alice");
            assertThat(answer(carol.lastSeen("bob")).unknown()).isTrue();
            assertThat(stored(bob.setContacts(List.of("dave"))))
                .isEqualTo(new PrivacySettings(PresenceVisibility.CONTACTS, List.of("dave")));
        }
    }

    @Test
    void shouldTellAWatcherWhenEitherOfThemHidesTheirPresenceAndShowsItAgain() throws Exception {
        try (TestServer server = new TestServer(dir).start()) {
            Recorder aliceSaw = new Recorder();
            try (CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), aliceSaw);
                 CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), new Recorder())) {
                await().atMost(30, SECONDS).until(() -> bob.status().state() == ConnectionState.CONNECTED);
                stored(alice.addContacts(List.of("bob")));
                alice.watchPresence(List.of(), true);
                await().atMost(30, SECONDS).until(() -> aliceSaw.latest("bob") != null && aliceSaw.latest("bob").online());

                stored(bob.setPresenceVisibility(PresenceVisibility.NOBODY));
                await().atMost(30, SECONDS).until(() -> aliceSaw.latest("bob").unknown());

                stored(bob.setPresenceVisibility(PresenceVisibility.EVERYONE));
                await().atMost(30, SECONDS).until(() -> aliceSaw.latest("bob").online());

                // Mutual: the watcher hiding her own presence stops seeing his, and sees it again after.
                stored(alice.setPresenceVisibility(PresenceVisibility.NOBODY));
                await().atMost(30, SECONDS).until(() -> aliceSaw.latest("bob").unknown());
                stored(alice.setPresenceVisibility(PresenceVisibility.CONTACTS));
                await().atMost(30, SECONDS).until(() -> aliceSaw.latest("bob").online());
            }
        }
    }

    @Test
    void shouldStoreAContactListLongerThanOneFrameTakes() throws Exception {
        List<String> many = IntStream.range(0, 2_500).mapToObj(i -> String.format("user%04d", i)).toList();
        try (TestServer server = new TestServer(dir).start();
             CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), new Recorder())) {
            assertThat(stored(alice.setContacts(many)).contacts()).isEqualTo(many);
            assertThat(stored(alice.removeContacts(many.subList(0, 1_500))).contacts()).isEqualTo(many.subList(1_500, 2_500));
            assertThat(stored(alice.privacy()).contacts()).hasSize(1_000);
        }
    }
}
