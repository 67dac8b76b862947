package io.courier.router;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.router.auth.InsecureAuthenticator;
import io.courier.storage.PresencePrivacy;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.memory.InMemoryStorageProvider;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Heartbeat;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Presence;
import io.courier.transport.proto.PresenceQuery;
import io.courier.transport.proto.PresenceSubscribe;
import io.courier.transport.proto.PrivacySettings;
import io.courier.transport.proto.PrivacyUpdate;
import io.courier.transport.proto.Visibility;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Presence under the mutual privacy rule, for queries and subscriptions, with coalescing: router
 * and in-memory store, in-process connections, an injected clock that the tests move and then
 * sweep. Nothing sleeps.
 */
class RouterPresenceTest {

    private static final Duration WINDOW = Duration.ofMillis(RouterConfig.defaults().presenceCoalesceMs());

    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final RouterConfig config = RouterConfig.builder().maxContacts(3).maxPresenceWatch(4).build();
    private final List<RecordingConnection> connections = new ArrayList<>();
    private final AtomicLong requestIds = new AtomicLong(100);
    private final Map<RecordingConnection, Integer> taken = new java.util.HashMap<>();
    private StorageBackend storage;
    private Router router;

    @BeforeEach
    void start() {
        storage = new InMemoryStorageProvider().open(new StorageConfig(Path.of("unused"), Map.of()));
        router = new Router(config, storage, new InsecureAuthenticator(), new SimpleMeterRegistry(), clock).start();
    }

    @AfterEach
    void stop() throws Exception {
        for (RecordingConnection connection : connections) {
            connection.shutdown();
        }
        router.close();
        storage.close();
    }

    // ---------------------------------------------------------------- queries

    @Test
    void shouldAnswerAHiddenUserExactlyAsAUserNeverSeen() throws Exception {
        RecordingConnection alice = connect("alice");
        RecordingConnection bob = connect("bob");
        assertThat(query(alice, "bob").getOnline()).isTrue();

        settings(bob, PrivacyUpdate.newBuilder().setVisibility(Visibility.VISIBILITY_NOBODY));
        Presence hidden = query(alice, "bob");
        Presence neverSeen = query(alice, "ghost");

        assertThat(hidden.toByteArray()).isEqualTo(Presence.newBuilder().setUser("bob").build().toByteArray());
        assertThat(neverSeen.toByteArray()).isEqualTo(Presence.newBuilder().setUser("ghost").build().toByteArray());
        disconnect(bob);
        assertThat(query(alice, "bob").toByteArray()).isEqualTo(hidden.toByteArray());
    }

    @Test
    void shouldShowPresenceOnlyMutuallySoAUserWhoHidesSeesNobody() throws Exception {
        RecordingConnection alice = connect("alice");
        RecordingConnection bob = connect("bob");
        settings(alice, PrivacyUpdate.newBuilder().setVisibility(Visibility.VISIBILITY_NOBODY));

        assertThat(query(alice, "bob")).isEqualTo(unknown("bob"));
        assertThat(query(bob, "alice")).isEqualTo(unknown("alice"));
        assertThat(query(alice, "alice").getOnline()).as("a user always sees their own presence").isTrue();
    }

    @Test
    void shouldAdmitOnlyContactsWhenVisibilityIsContacts() throws Exception {
        RecordingConnection alice = connect("alice");
        RecordingConnection bob = connect("bob");
        RecordingConnection carol = connect("carol");
        PrivacySettings answer = settings(bob, PrivacyUpdate.newBuilder()
            .setVisibility(Visibility.VISIBILITY_CONTACTS).addAddContacts("carol"));
        assertThat(answer.getVisibility()).isEqualTo(Visibility.VISIBILITY_CONTACTS);

        assertThat(query(carol, "bob").getOnline()).isTrue();
        assertThat(query(alice, "bob")).isEqualTo(unknown("bob"));
        // Mutual: bob sees carol (her setting admits everyone, his list admits her), not alice.
        assertThat(query(bob, "carol").getOnline()).isTrue();
        assertThat(query(bob, "alice")).isEqualTo(unknown("alice"));
    }

    @Test
    void shouldKeepLastSeenBehindPrivacyOnceOffline() throws Exception {
        RecordingConnection alice = connect("alice");
        RecordingConnection bob = connect("bob");
        long bobSeen = clock.millis();
        settings(bob, PrivacyUpdate.newBuilder().setVisibility(Visibility.VISIBILITY_CONTACTS).addAddContacts("carol"));
        disconnect(bob);
        clock.advance(Duration.ofSeconds(3));
        RecordingConnection carol = connect("carol");

        assertThat(query(carol, "bob")).isEqualTo(Presence.newBuilder().setUser("bob").setLastSeenMs(bobSeen).build());
        assertThat(query(alice, "bob")).isEqualTo(unknown("bob"));
    }

    @Test
    void shouldCloseAfterMissedBeatsWithLastSeenTheLastActivity() throws Exception {
        RecordingConnection alice = connect("alice");
        RecordingConnection bob = connect("bob");
        clock.advance(Duration.ofSeconds(4));
        alice.receive(Frame.newBuilder().setHeartbeat(Heartbeat.newBuilder()).build());
        bob.receive(Frame.newBuilder().setHeartbeat(Heartbeat.newBuilder()).build());
        alice.sync();
        long aliceLastBeat = clock.millis();

        // Bob beats on; alice falls silent for more than 3 x 5 s.
        for (int i = 0; i < 4; i++) {
            clock.advance(Duration.ofSeconds(4));
            bob.receive(Frame.newBuilder().setHeartbeat(Heartbeat.newBuilder()).build());
            bob.sync();
            router.sweep();
        }
        await().atMost(10, SECONDS).until(() -> !alice.isOpen());
        assertThat(errors(alice)).extracting(Error::getCode).containsExactly(Error.Code.IDLE_TIMEOUT);
        assertThat(bob.isOpen()).isTrue();

        await().atMost(10, SECONDS).until(() -> !query(bob, "alice").getOnline());
        assertThat(query(bob, "alice").getLastSeenMs()).isEqualTo(aliceLastBeat);
        router.sweep(); // written to the store by now; the answer is the same
        assertThat(storage.presence().lastSeen("alice")).hasValue(aliceLastBeat);
        assertThat(query(bob, "alice").getLastSeenMs()).isEqualTo(aliceLastBeat);
    }

    // ---------------------------------------------------------------- privacy updates

    @Test
    void shouldStorePrivacyAndAnswerTheSortedSettings() throws Exception {
        RecordingConnection alice = connect("alice");
        PrivacySettings first = settings(alice, PrivacyUpdate.newBuilder().addAddContacts("carol").addAddContacts("bob"));
        assertThat(first.getVisibility()).isEqualTo(Visibility.VISIBILITY_EVERYONE);
        assertThat(first.getContactsList()).containsExactly("bob", "carol");

        PrivacySettings second = settings(alice, PrivacyUpdate.newBuilder().setVisibility(Visibility.VISIBILITY_CONTACTS)
            .addAddContacts("dave").addRemoveContacts("bob"));
        assertThat(second.getContactsList()).containsExactly("carol", "dave");
        assertThat(settings(alice, PrivacyUpdate.newBuilder())).as("an empty update reads").isEqualTo(second);
        assertThat(storage.presence().privacy("alice"))
            .isEqualTo(new PresencePrivacy(PresencePrivacy.Visibility.CONTACTS, List.of("carol", "dave")));

        PrivacySettings replaced = settings(alice, PrivacyUpdate.newBuilder().setReplaceContacts(true)
            .addAddContacts("erin").addRemoveContacts("erin"));
        assertThat(replaced.getContactsList()).as("remove is ignored when replacing").containsExactly("erin");
    }

    @Test
    void shouldRefuseMalformedOrOversizedPrivacyUpdatesNamingTheLimitAndChangeNothing() throws Exception {
        RecordingConnection alice = connect("alice");
        settings(alice, PrivacyUpdate.newBuilder().addAddContacts("bob"));

        Error malformed = refused(alice, Frame.newBuilder().setPrivacyUpdate(PrivacyUpdate.newBuilder()
            .setVisibility(Visibility.VISIBILITY_NOBODY).addAddContacts("not a user")));
        assertThat(malformed.getCode()).isEqualTo(Error.Code.INVALID_ARGUMENT);
        assertThat(malformed.getText()).contains("'not a user'", "nothing was changed");

        Error tooMany = refused(alice, Frame.newBuilder().setPrivacyUpdate(PrivacyUpdate.newBuilder()
            .addAddContacts("c1").addAddContacts("c2").addAddContacts("c3")));
        assertThat(tooMany.getText()).contains("router.max-contacts = 3", "4 users");

        Error unknownVisibility = refused(alice, Frame.newBuilder().setPrivacyUpdate(PrivacyUpdate.newBuilder()
            .setVisibilityValue(42)));
        assertThat(unknownVisibility.getText()).contains("unknown visibility 42");

        assertThat(settings(alice, PrivacyUpdate.newBuilder()).getContactsList()).containsExactly("bob");
        assertThat(settings(alice, PrivacyUpdate.newBuilder()).getVisibility()).isEqualTo(Visibility.VISIBILITY_EVERYONE);
    }

    // ---------------------------------------------------------------- subscriptions

    @Test
    void shouldAnswerASubscriptionWithWhatAQueryWouldForEachWatchedUser() throws Exception {
        RecordingConnection alice = connect("alice");
        RecordingConnection bob = connect("bob");
        RecordingConnection carol = connect("carol");
        settings(carol, PrivacyUpdate.newBuilder().setVisibility(Visibility.VISIBILITY_NOBODY));

        List<Presence> answers = subscribe(alice, PresenceSubscribe.newBuilder().addUsers("bob").addUsers("carol")
            .addUsers("ghost"), 3);
        assertThat(answers).containsExactly(Presence.newBuilder().setUser("bob").setOnline(true)
            .setLastSeenMs(clock.millis()).build(), unknown("carol"), unknown("ghost"));
    }

    @Test
    void shouldRefuseAnOversizedSubscriptionAndKeepThePreviousOne() throws Exception {
        RecordingConnection alice = connect("alice");
        subscribe(alice, PresenceSubscribe.newBuilder().addUsers("bob"), 1);
        Error error = refused(alice, Frame.newBuilder().setPresenceSubscribe(PresenceSubscribe.newBuilder()
            .addAllUsers(IntStream.range(0, 5).mapToObj(i -> "u" + i).toList())));
        assertThat(error.getCode()).isEqualTo(Error.Code.INVALID_ARGUMENT);
        assertThat(error.getText()).contains("router.max-presence-watch = 4", "previous subscription");

        RecordingConnection bob = connect("bob");
        assertThat(nextChange(alice)).isEqualTo(Presence.newBuilder().setUser("bob").setOnline(true)
            .setLastSeenMs(clock.millis()).build());
    }

    @Test
    void shouldAnnounceAChangeAtOnceThenCoalesceAFlappingConnection() throws Exception {
        RecordingConnection alice = connect("alice");
        subscribe(alice, PresenceSubscribe.newBuilder().addUsers("bob"), 1);

        RecordingConnection bob = connect("bob");
        assertThat(nextChange(alice).getOnline()).as("the first change is told at once").isTrue();

        // Bob's connection flaps thirty times within the window: alice hears nothing now ...
        for (int i = 0; i < 30; i++) {
            disconnect(bob);
            bob = connect("bob");
        }
        disconnect(bob);
        long bobLeft = clock.millis();
        router.sweep();
        assertThat(changes(alice)).hasSize(1);

        // ... and one Presence, the state at the window's end, when it ends.
        clock.advance(WINDOW);
        router.sweep();
        assertThat(changes(alice)).hasSize(2);
        assertThat(changes(alice).get(1)).isEqualTo(Presence.newBuilder().setUser("bob").setLastSeenMs(bobLeft).build());

        // A flap that ends where it started within a window is not told at all.
        bob = connect("bob");
        disconnect(bob);
        clock.advance(WINDOW);
        router.sweep();
        assertThat(changes(alice)).hasSize(2);
    }

    @Test
    void shouldEndTheSubscriptionWithTheSession() throws Exception {
        RecordingConnection alice = connect("alice");
        subscribe(alice, PresenceSubscribe.newBuilder().addUsers("bob"), 1);
        disconnect(alice);
        RecordingConnection aliceAgain = connect("alice");

        connect("bob");
        router.sweep();
        assertThat(changes(aliceAgain)).isEmpty();
        assertThat(changes(alice)).isEmpty();
    }

    @Test
    void shouldHideAndRevealForASubscriberWhenTheWatchedUserChangesSettings() throws Exception {
        RecordingConnection alice = connect("alice");
        RecordingConnection bob = connect("bob");
        subscribe(alice, PresenceSubscribe.newBuilder().addUsers("bob"), 1);

        settings(bob, PrivacyUpdate.newBuilder().setVisibility(Visibility.VISIBILITY_CONTACTS));
        assertThat(nextChange(alice)).as("newly hidden: one unknown").isEqualTo(unknown("bob"));

        // Hidden, bob's comings and goings are not told.
        disconnect(bob);
        bob = connect("bob");
        clock.advance(WINDOW);
        router.sweep();
        assertThat(changes(alice)).hasSize(1);

        settings(bob, PrivacyUpdate.newBuilder().addAddContacts("alice"));
        assertThat(nextChange(alice)).as("newly visible: the current state").isEqualTo(Presence.newBuilder()
            .setUser("bob").setOnline(true).setLastSeenMs(clock.millis()).build());
    }

    @Test
    void shouldHideEveryoneFromASubscriberWhoHidesThemselves() throws Exception {
        RecordingConnection alice = connect("alice");
        connect("bob");
        connect("carol");
        subscribe(alice, PresenceSubscribe.newBuilder().addUsers("bob").addUsers("carol"), 2);

        settings(alice, PrivacyUpdate.newBuilder().setVisibility(Visibility.VISIBILITY_NOBODY));
        await().atMost(10, SECONDS).until(() -> changes(alice).size() == 2);
        assertThat(changes(alice)).containsExactlyInAnyOrder(unknown("bob"), unknown("carol"));

        // Within the window, the reveal waits for its end, then tells the state at that time.
        settings(alice, PrivacyUpdate.newBuilder().setVisibility(Visibility.VISIBILITY_EVERYONE));
        router.sweep();
        assertThat(changes(alice)).hasSize(2);
        clock.advance(WINDOW);
        router.sweep();
        assertThat(changes(alice)).hasSize(4);
        assertThat(changes(alice).subList(2, 4)).extracting(Presence::getOnline).containsExactly(true, true);
    }

    @Test
    void shouldFollowTheContactListInAContactsSubscription() throws Exception {
        RecordingConnection alice = connect("alice");
        connect("bob");
        connect("carol");
        settings(alice, PrivacyUpdate.newBuilder().addAddContacts("bob"));
        assertThat(subscribe(alice, PresenceSubscribe.newBuilder().setContacts(true), 1))
            .extracting(Presence::getUser).containsExactly("bob");

        settings(alice, PrivacyUpdate.newBuilder().addAddContacts("carol").addRemoveContacts("bob"));
        assertThat(nextChange(alice)).isEqualTo(Presence.newBuilder().setUser("carol").setOnline(true)
            .setLastSeenMs(clock.millis()).build());

        // Bob is no longer watched: his going is not told; carol's is.
        clock.advance(WINDOW);
        disconnect(connections.get(1));
        disconnect(connections.get(1));
        router.sweep();
        assertThat(changes(alice)).extracting(Presence::getUser).containsExactly("carol", "carol");
    }

    @Test
    void shouldRefusePresenceRequestsBeyondTheQueueBoundWithOverloaded() throws Exception {
        java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch reading = new java.util.concurrent.CountDownLatch(1);
        StorageBackend memory = new InMemoryStorageProvider().open(new StorageConfig(Path.of("unused"), Map.of()));
        StorageBackend slow = new SlowPrivacyReads(memory, reading, gate);
        RouterConfig roomy = RouterConfig.builder().frameBurst(10_000).build();
        Router slowRouter = new Router(roomy, slow, new InsecureAuthenticator(), new SimpleMeterRegistry(), clock).start();
        RecordingConnection alice = new RecordingConnection(slowRouter);
        try {
            alice.receive(Frame.newBuilder().setHello(Hello.newBuilder().setUser("alice")).build());
            await().atMost(10, SECONDS).until(() -> alice.written.stream().anyMatch(Frame::hasWelcome));
            int extra = 4;
            int sent = io.courier.router.internal.PresenceService.MAX_QUEUED_REQUESTS + extra;
            for (int i = 1; i <= sent; i++) {
                alice.receive(Frame.newBuilder().setRequestId(i)
                    .setPresenceQuery(PresenceQuery.newBuilder().setUser("bob")).build());
            }
            alice.sync();
            assertThat(reading.await(10, SECONDS)).isTrue();
            List<Error> refused = errors(alice);
            assertThat(refused).hasSize(extra).allMatch(e -> e.getCode() == Error.Code.OVERLOADED && !e.getFatal());
            assertThat(refused.get(0).getText()).contains("presence requests waiting", "nothing was changed");
            assertThat(slowRouter.errorCount(Error.Code.OVERLOADED)).isEqualTo(extra);

            gate.countDown();
            await().atMost(30, SECONDS).until(() -> alice.written.stream().filter(Frame::hasPresence).count()
                == sent - extra);
        } finally {
            gate.countDown();
            alice.shutdown();
            slowRouter.close();
            slow.close();
        }
    }

    /** A backend whose presence-privacy reads wait at a gate: the presence thread falls behind. */
    private static final class SlowPrivacyReads implements StorageBackend {
        private final StorageBackend delegate;
        private final io.courier.storage.PresenceStore presence;

        SlowPrivacyReads(StorageBackend delegate, java.util.concurrent.CountDownLatch reading,
                         java.util.concurrent.CountDownLatch gate) {
            this.delegate = delegate;
            io.courier.storage.PresenceStore real = delegate.presence();
            this.presence = new io.courier.storage.PresenceStore() {
                @Override
                public void saveLastSeen(Map<String, Long> lastSeenByUser) {
                    real.saveLastSeen(lastSeenByUser);
                }

                @Override
                public java.util.OptionalLong lastSeen(String user) {
                    return real.lastSeen(user);
                }

                @Override
                public void savePrivacy(String user, PresencePrivacy privacy) {
                    real.savePrivacy(user, privacy);
                }

                @Override
                public PresencePrivacy privacy(String user) {
                    reading.countDown();
                    try {
                        gate.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return real.privacy(user);
                }
            };
        }

        @Override
        public String name() {
            return "slow-privacy";
        }

        @Override
        public io.courier.storage.MessageStore messages() {
            return delegate.messages();
        }

        @Override
        public io.courier.storage.DeviceDirectory devices() {
            return delegate.devices();
        }

        @Override
        public io.courier.storage.PresenceStore presence() {
            return presence;
        }

        @Override
        public io.courier.storage.KeyStore keys() {
            return delegate.keys();
        }

        @Override
        public io.courier.storage.RevocationStore revocations() {
            return delegate.revocations();
        }

        @Override
        public void close() {
            delegate.close();
        }
    }

    // ---------------------------------------------------------------- helpers

    private static Presence unknown(String user) {
        return Presence.newBuilder().setUser(user).build();
    }

    private Presence query(RecordingConnection from, String user) {
        long id = requestIds.incrementAndGet();
        from.receive(Frame.newBuilder().setRequestId(id).setPresenceQuery(PresenceQuery.newBuilder().setUser(user)).build());
        return answer(from, id).getPresence();
    }

    private PrivacySettings settings(RecordingConnection from, PrivacyUpdate.Builder update) {
        long id = requestIds.incrementAndGet();
        from.receive(Frame.newBuilder().setRequestId(id).setPrivacyUpdate(update).build());
        Frame answer = answer(from, id);
        assertThat(answer.hasPrivacySettings()).as("%s", answer).isTrue();
        return answer.getPrivacySettings();
    }

    private List<Presence> subscribe(RecordingConnection from, PresenceSubscribe.Builder subscribe, int answers) {
        long id = requestIds.incrementAndGet();
        from.receive(Frame.newBuilder().setRequestId(id).setPresenceSubscribe(subscribe).build());
        await().atMost(10, SECONDS).until(() -> answers(from, id).size() == answers);
        return answers(from, id).stream().map(Frame::getPresence).toList();
    }

    private Error refused(RecordingConnection from, Frame.Builder frame) {
        long id = requestIds.incrementAndGet();
        from.receive(frame.setRequestId(id).build());
        Frame answer = answer(from, id);
        assertThat(answer.hasError()).as("%s", answer).isTrue();
        return answer.getError();
    }

    private static Frame answer(RecordingConnection from, long id) {
        await().atMost(10, SECONDS).until(() -> !answers(from, id).isEmpty());
        return answers(from, id).get(0);
    }

    private static List<Frame> answers(RecordingConnection from, long id) {
        return from.written.stream()
            .filter(f -> f.getRequestId() == id || f.hasError() && f.getError().getRequestId() == id).toList();
    }

    /** Presence frames sent on the server's own (request id 0): announced changes. */
    private static List<Presence> changes(RecordingConnection c) {
        return c.written.stream().filter(f -> f.hasPresence() && f.getRequestId() == 0).map(Frame::getPresence).toList();
    }

    /** The first announced change not yet taken by this method. */
    private Presence nextChange(RecordingConnection c) {
        int next = taken.merge(c, 1, Integer::sum) - 1;
        await().atMost(10, SECONDS).until(() -> changes(c).size() > next);
        return changes(c).get(next);
    }

    private static List<Error> errors(RecordingConnection c) {
        return c.written.stream().filter(Frame::hasError).map(Frame::getError).toList();
    }

    private RecordingConnection connect(String user) {
        RecordingConnection connection = new RecordingConnection(router);
        connections.add(connection);
        connection.receive(Frame.newBuilder().setHello(Hello.newBuilder().setUser(user).setDevice("1")).build());
        await().atMost(10, SECONDS).until(() -> connection.written.stream().anyMatch(Frame::hasWelcome));
        return connection;
    }

    private void disconnect(RecordingConnection connection) throws InterruptedException {
        connections.remove(connection);
        connection.shutdown(); // returns once the router has handled the close
    }
}
