package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.transport.proto.KeyBundles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Signal mode (X3DH and the Double Ratchet) between SDK clients on a real server: both ways and
 * across restarts, several devices per user, a device added later, the server's STALE_DEVICES,
 * one-time pre-keys replenished, signed pre-keys rotated by the clock, safety numbers, and files.
 */
class SignalExchangeTest {

    @TempDir
    Path dir;

    static CourierClient signal(TestServer server, String user, String device, Path db, CourierListener l) {
        CourierClient c = Clients.builder(server.tcp(), user, server.tokens(user), db, l).device(device)
            .encryption(Encryption.SIGNAL).build();
        c.keysPublished().orTimeout(30, SECONDS).join();
        return c;
    }

    static CourierClient signal(TestServer server, String user, String device, Path db, CourierListener l,
                                Clock clock) {
        CourierClient c = Clients.builder(server.tcp(), user, server.tokens(user), db, l).device(device)
            .encryption(Encryption.SIGNAL).clock(clock).build();
        c.keysPublished().orTimeout(30, SECONDS).join();
        return c;
    }

    @Test
    void shouldExchangeEncryptedMessagesBothWaysWithSessionsThatSurviveARestart() throws Exception {
        try (TestServer server = new TestServer(dir).start()) {
            Recorder aliceSaw = new Recorder();
            Recorder bobSaw = new Recorder();
            try (CourierClient alice = signal(server, "alice", "1", dir.resolve("alice.db"), aliceSaw);
                 CourierClient bob = signal(server, "bob", "1", dir.resolve("bob.db"), bobSaw)) {
                String first = alice.sendText("bob", "first, with the x3dh header");
                await().atMost(30, SECONDS).until(() -> bobSaw.arrived.size() == 1);
                bob.sendText("alice", "answer, bob's first ratchet step");
                alice.sendText("bob", "second");
                await().atMost(30, SECONDS).until(() -> aliceSaw.arrived.size() == 1 && bobSaw.arrived.size() == 2);
                assertThat(bobSaw.arrived).extracting(Message::encryption).containsOnly(Encryption.SIGNAL);
                assertThat(Clients.texts(bobSaw.arrived)).containsExactly("first, with the x3dh header", "second");
                assertThat(aliceSaw.arrived.get(0).text()).isEqualTo("answer, bob's first ratchet step");
                assertThat(bobSaw.arrived).noneMatch(Message::isUndecryptable);
                await().atMost(30, SECONDS).until(() -> alice.message(first).orElseThrow().state() == MessageState.DELIVERED);
                assertThat(alice.message(first).orElseThrow().encryption()).isEqualTo(Encryption.SIGNAL);
                assertThat(alice.message(first).orElseThrow().text()).isEqualTo("first, with the x3dh header");
            }
            // Mid-conversation, both closed and reopened: the sessions come back from the databases.
            Recorder aliceAgain = new Recorder();
            Recorder bobAgain = new Recorder();
            try (CourierClient alice = signal(server, "alice", "1", dir.resolve("alice.db"), aliceAgain);
                 CourierClient bob = signal(server, "bob", "1", dir.resolve("bob.db"), bobAgain)) {
                for (int i = 0; i < 5; i++) {
                    alice.sendText("bob", "after restart " + i);
                    bob.sendText("alice", "reply after restart " + i);
                }
                await().atMost(30, SECONDS).until(() -> bobAgain.arrived.size() == 5 && aliceAgain.arrived.size() == 5);
                assertThat(bobAgain.arrived).noneMatch(Message::isUndecryptable);
                assertThat(aliceAgain.arrived).noneMatch(Message::isUndecryptable);
                assertThat(Clients.texts(bobAgain.arrived)).containsExactly("after restart 0", "after restart 1",
                    "after restart 2", "after restart 3", "after restart 4");
            }
        }
    }

    @Test
    void shouldEncryptForEveryDeviceOfBothUsersAndLeaveADeviceAddedLaterWithoutTheOldMessages() throws Exception {
        try (TestServer server = new TestServer(dir).start()) {
            Recorder alice2Saw = new Recorder();
            Recorder bob1Saw = new Recorder();
            Recorder bob2Saw = new Recorder();
            try (CourierClient alice1 = signal(server, "alice", "1", dir.resolve("a1.db"), new Recorder());
                 CourierClient alice2 = signal(server, "alice", "2", dir.resolve("a2.db"), alice2Saw);
                 CourierClient bob1 = signal(server, "bob", "1", dir.resolve("b1.db"), bob1Saw);
                 CourierClient bob2 = signal(server, "bob", "2", dir.resolve("b2.db"), bob2Saw)) {
                String id = alice1.sendText("bob", "to both of bob's devices and my other one");
                await().atMost(30, SECONDS).until(() -> bob1Saw.arrived.size() == 1 && bob2Saw.arrived.size() == 1
                    && alice2Saw.arrived.size() == 1);
                for (Message m : List.of(bob1Saw.arrived.get(0), bob2Saw.arrived.get(0), alice2Saw.arrived.get(0))) {
                    assertThat(m.isUndecryptable()).as(m.toString()).isFalse();
                    assertThat(m.text()).isEqualTo("to both of bob's devices and my other one");
                    assertThat(m.clientId()).isEqualTo(id);
                }
                assertThat(alice2Saw.arrived.get(0).direction()).isEqualTo(Direction.OUTGOING);
                bob2.sendText("alice", "from bob's second device");
                await().atMost(30, SECONDS).until(() -> alice2Saw.arrived.size() == 2 && bob1Saw.arrived.size() == 2);
                assertThat(alice2Saw.arrived.get(1).text()).isEqualTo("from bob's second device");
                assertThat(bob1Saw.arrived.get(1).text()).isEqualTo("from bob's second device");

                // A third device of bob's: alice's next send is refused with STALE_DEVICES naming
                // it, fetched and encrypted for, and sent again; the new device gets only that one.
                Recorder bob3Saw = new Recorder();
                try (CourierClient bob3 = signal(server, "bob", "3", dir.resolve("b3.db"), bob3Saw)) {
                    String late = alice1.sendText("bob", "after bob's third device came");
                    await().atMost(30, SECONDS).until(() -> bob3Saw.arrived.size() == 1 && bob1Saw.arrived.size() == 3);
                    assertThat(bob3Saw.arrived.get(0).text()).isEqualTo("after bob's third device came");
                    assertThat(bob3Saw.arrived.get(0).clientId()).isEqualTo(late);
                    assertThat(Clients.texts(bob3.history("alice"))).containsExactly("after bob's third device came");
                    await().atMost(30, SECONDS).until(() -> alice1.message(late).orElseThrow().state()
                        .compareTo(MessageState.SENT) >= 0);
                    assertThat(alice1.message(late).orElseThrow().state()).isNotEqualTo(MessageState.FAILED);
                }
            }
        }
    }

    @Test
    void shouldPublishMoreOneTimePreKeysWhenTheServerSaysTheSupplyIsLow() throws Exception {
        try (TestServer server = new TestServer(dir).start()) {
            try (CourierClient bob = signal(server, "bob", "1", dir.resolve("bob.db"), new Recorder());
                 RawKeyClient carol = new RawKeyClient(server, "carol")) {
                // Each fetch takes one of bob's 100 one-time pre-keys (ids 1 to 100); below 20 left
                // the server tells bob, who makes 100 more (ids 101 to 200) and publishes them.
                for (int i = 0; i < 85; i++) {
                    assertThat(carol.fetch("bob").getBundles(0).getOneTimePreKey().getId()).isBetween(1, 100);
                }
                // Without the new ones, the remaining 15 run out and the bundles come without one.
                await().atMost(30, SECONDS).until(() -> {
                    KeyBundles.Bundle b = carol.fetch("bob").getBundles(0);
                    assertThat(b.hasOneTimePreKey()).as("a one-time pre-key left").isTrue();
                    return b.getOneTimePreKey().getId() > 100;
                });
                assertThat(bob.status()).isNotNull();
            }
            // bob's database: the first 100 (none used for a session) and the 100 new ones, all published.
            assertThat(count(dir.resolve("bob.db"), "SELECT COUNT(*) FROM e2e_one_time_pre_keys")).isEqualTo(200);
            assertThat(count(dir.resolve("bob.db"), "SELECT COUNT(*) FROM e2e_one_time_pre_keys WHERE published = 1"))
                .isEqualTo(200);
        }
    }

    @Test
    void shouldRotateTheSignedPreKeyWeeklyByTheClockAndEraseReplacedOnesAfterThirtyDays() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
        try (TestServer server = new TestServer(dir).start()) {
            Recorder bobSaw = new Recorder();
            Path bobDb = dir.resolve("bob.db");
            try (CourierClient bob = signal(server, "bob", "1", bobDb, bobSaw, clock);
                 CourierClient alice = signal(server, "alice", "1", dir.resolve("alice.db"), new Recorder())) {
                alice.sendText("bob", "before the rotation");
                await().atMost(30, SECONDS).until(() -> bobSaw.arrived.size() == 1);
            }
            clock.advance(Duration.ofDays(8));
            Recorder bobAgain = new Recorder();
            try (CourierClient bob = signal(server, "bob", "1", bobDb, bobAgain, clock);
                 CourierClient alice = signal(server, "alice", "1", dir.resolve("alice.db"), new Recorder());
                 CourierClient carol = signal(server, "carol", "1", dir.resolve("carol.db"), new Recorder())) {
                // alice's session still names the first signed pre-key (bob never answered), carol's the new one.
                alice.sendText("bob", "with the old signed pre-key");
                carol.sendText("bob", "with the new signed pre-key");
                await().atMost(30, SECONDS).until(() -> bobAgain.arrived.size() == 2);
                assertThat(bobAgain.arrived).noneMatch(Message::isUndecryptable);
            }
            assertThat(count(bobDb, "SELECT COUNT(*) FROM e2e_signed_pre_keys")).isEqualTo(2);
            assertThat(count(bobDb, "SELECT published_spk FROM e2e_identity")).isEqualTo(2);
            clock.advance(Duration.ofDays(31));
            try (CourierClient bob = signal(server, "bob", "1", bobDb, new Recorder(), clock)) {
                assertThat(bob.status()).isNotNull();
            }
            // The first was replaced 31 days ago: erased. The second was replaced now: kept.
            assertThat(count(bobDb, "SELECT MIN(id) FROM e2e_signed_pre_keys")).isEqualTo(2);
            assertThat(count(bobDb, "SELECT MAX(id) FROM e2e_signed_pre_keys")).isEqualTo(3);
        }
    }

    @Test
    void shouldShowTheSameSafetyNumberOnBothSidesAndAnnounceItsChangeAfterAReinstall() throws Exception {
        try (TestServer server = new TestServer(dir).start()) {
            Recorder aliceSaw = new Recorder();
            String before;
            try (CourierClient alice = signal(server, "alice", "1", dir.resolve("alice.db"), aliceSaw);
                 CourierClient bob = signal(server, "bob", "1", dir.resolve("bob.db"), new Recorder())) {
                before = alice.safetyNumber("bob").get(30, SECONDS);
                assertThat(bob.safetyNumber("alice").get(30, SECONDS)).isEqualTo(before);
                assertThat(before).matches("(\\d{5} ){11}\\d{5}");
                alice.sendText("bob", "hi");
                bob.sendText("alice", "hi back");
                await().atMost(30, SECONDS).until(() -> aliceSaw.arrived.size() == 1);
                assertThat(aliceSaw.safetyNumberChanges).isEmpty();

                // bob reinstalls: a new database, so a new identity, for the same user and device.
                bob.close();
                Recorder bobSaw = new Recorder();
                try (CourierClient newBob = signal(server, "bob", "1", dir.resolve("bob-reinstalled.db"), bobSaw)) {
                    newBob.sendText("alice", "it is me, on a new phone");
                    await().atMost(30, SECONDS).until(() -> aliceSaw.arrived.size() == 2);
                    assertThat(aliceSaw.arrived.get(1).text()).isEqualTo("it is me, on a new phone");
                    await().atMost(30, SECONDS).until(() -> aliceSaw.safetyNumberChanges.size() == 1);
                    String after = newBob.safetyNumber("alice").get(30, SECONDS);
                    assertThat(after).isNotEqualTo(before);
                    assertThat(aliceSaw.safetyNumberChanges).containsExactly("bob: " + after);
                    assertThat(alice.safetyNumber("bob").get(30, SECONDS)).isEqualTo(after);
                    // alice now encrypts to the new key: the reinstalled bob reads her.
                    alice.sendText("bob", "welcome back");
                    await().atMost(30, SECONDS).until(() -> bobSaw.arrived.size() == 1);
                    assertThat(bobSaw.arrived.get(0).text()).isEqualTo("welcome back");
                }
            }
        }
    }

    @Test
    void shouldLearnOfAReinstallFromTheServerBeforeItsFirstMessageToTheNewDevice() throws Exception {
        try (TestServer server = new TestServer(dir).start()) {
            Recorder aliceSaw = new Recorder();
            try (CourierClient alice = signal(server, "alice", "1", dir.resolve("alice.db"), aliceSaw)) {
                try (CourierClient bob = signal(server, "bob", "1", dir.resolve("bob.db"), new Recorder())) {
                    bob.sendText("alice", "hi");
                    await().atMost(30, SECONDS).until(() -> aliceSaw.arrived.size() == 1);
                    alice.sendText("bob", "hi back");
                    await().atMost(30, SECONDS).until(() -> bob.history("alice").size() == 2);
                }
                // bob reinstalls and says nothing: alice writes first, with her session to his old
                // keys. The server names the device as changed (STALE_DEVICES, changed_devices),
                // alice fetches his new bundle, says the safety number changed, and only then
                // encrypts to the new keys.
                List<String> timeline = new java.util.concurrent.CopyOnWriteArrayList<>();
                alice.addListener(new CourierListener() {
                    @Override
                    public void onSafetyNumberChanged(String user, String safetyNumber) {
                        timeline.add("changed " + user);
                    }

                    @Override
                    public void onStateChanged(Message m) {
                        timeline.add(m.state() + " " + m.text());
                    }
                });
                Recorder bobSaw = new Recorder();
                try (CourierClient newBob = signal(server, "bob", "1", dir.resolve("bob-reinstalled.db"), bobSaw)) {
                    alice.sendText("bob", "are you there?");
                    await().atMost(30, SECONDS).until(() -> bobSaw.arrived.size() == 1);
                    assertThat(bobSaw.arrived.get(0).undecryptable()).isNull();
                    assertThat(bobSaw.arrived.get(0).text()).isEqualTo("are you there?");
                    assertThat(aliceSaw.safetyNumberChanges).containsExactly("bob: " + newBob.safetyNumber("alice")
                        .get(30, SECONDS));
                    assertThat(timeline).contains("changed bob", "SENT are you there?");
                    assertThat(timeline.indexOf("changed bob")).as("the change is told before the message is stored")
                        .isLessThan(timeline.indexOf("SENT are you there?"));
                    assertThat(server.server().router().errorCount(io.courier.transport.proto.Error.Code.STALE_DEVICES))
                        .isEqualTo(1);
                }
            }
        }
    }

    @Test
    void shouldFailAMessageToADeviceWhoseBundleIsForgedAndEncryptNothingToIt() throws Exception {
        try (TestServer server = new TestServer(dir).start();
             RawKeyClient mallory = new RawKeyClient(server, "mallory")) {
            mallory.publishForged();
            Recorder aliceSaw = new Recorder();
            try (CourierClient alice = signal(server, "alice", "1", dir.resolve("alice.db"), aliceSaw)) {
                String id = alice.sendText("mallory", "never for a forged key");
                await().atMost(30, SECONDS).until(() -> alice.message(id).orElseThrow().state() == MessageState.FAILED);
                Message failed = alice.message(id).orElseThrow();
                assertThat(failed.failureCode()).isEqualTo("FORGED_PRE_KEY");
                assertThat(failed.failureText()).contains("mallory", "does not verify");
                // The outbox goes on: a message to someone else after it is sent.
                try (CourierClient bob = signal(server, "bob", "1", dir.resolve("bob.db"), new Recorder())) {
                    String next = alice.sendText("bob", "after the forged one");
                    await().atMost(30, SECONDS).until(() -> alice.message(next).orElseThrow().state()
                        == MessageState.DELIVERED);
                }
            }
        }
    }

    @Test
    void shouldSendAFileEncryptedSoTheMediaStoreHoldsOnlyCiphertext() throws Exception {
        byte[] image = new byte[300_000];
        new Random(7).nextBytes(image);
        Path file = Files.write(dir.resolve("photo.png"), image);
        try (TestServer server = new TestServer(dir, MediaServers.filesystem()).start()) {
            Recorder bobSaw = new Recorder();
            try (CourierClient alice = signal(server, "alice", "1", dir.resolve("alice.db"), new Recorder());
                 CourierClient bob = signal(server, "bob", "1", dir.resolve("bob.db"), bobSaw)) {
                alice.sendMedia("bob", file, "image/png");
                await().atMost(60, SECONDS).until(() -> bobSaw.arrived.size() == 1);
                Message arrived = bobSaw.arrived.get(0);
                assertThat(arrived.isUndecryptable()).isFalse();
                assertThat(arrived.media().contentType()).isEqualTo("image/png");
                assertThat(arrived.media().sizeBytes()).isEqualTo(image.length);
                Path saved = bob.download(arrived).get(60, SECONDS);
                assertThat(Files.readAllBytes(saved)).isEqualTo(image);
                // The blob store's files: none holds the image's bytes.
                List<Path> stored = new ArrayList<>();
                try (var walk = Files.walk(server.dataDir)) {
                    walk.filter(Files::isRegularFile).filter(p -> p.toString().contains("media")).forEach(stored::add);
                }
                assertThat(stored).as("the blob store's files under " + server.dataDir).isNotEmpty();
                for (Path p : stored) {
                    assertThat(Files.readAllBytes(p)).isNotEqualTo(image);
                }
            }
        }
    }

    static long count(Path db, String sql) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** A clock the test moves on. */
    static final class MutableClock extends Clock {
        private final AtomicReference<Instant> now;

        MutableClock(Instant start) {
            this.now = new AtomicReference<>(start);
        }

        void advance(Duration d) {
            now.updateAndGet(t -> t.plus(d));
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now.get();
        }
    }
}
