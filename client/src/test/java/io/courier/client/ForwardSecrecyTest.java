package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.courier.client.crypto.Conversation;
import io.courier.client.crypto.DeviceIdentity;
import io.courier.client.crypto.E2eException;
import io.courier.client.crypto.OneTimePreKey;
import io.courier.client.crypto.PlainMessage;
import io.courier.client.crypto.PreKeyLookup;
import io.courier.client.crypto.Reason;
import io.courier.client.crypto.SessionCipher;
import io.courier.client.crypto.SessionRecord;
import io.courier.client.crypto.SignedPreKey;
import io.courier.client.crypto.Target;
import io.courier.transport.proto.DevicePayload;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Send;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Forward secrecy, shown at the SDK level: Bob's whole key state (identity, pre-keys, sessions:
 * every row of his database's key tables) is captured after he received and decrypted some
 * messages from Alice and both sides took ratchet steps; with that state the earlier ciphertexts,
 * taken from the wire, do not decrypt (the test tries with {@link SessionCipher} and fails every
 * time), while the same procedure with his state from before the first message does decrypt the
 * first one, so the failures are forward secrecy and not a broken attempt.
 */
class ForwardSecrecyTest {

    /** Messages Alice sends before the capture. */
    static final int EARLY = 10;

    @TempDir
    Path dir;

    /** A device's key tables as they were at one moment. */
    record KeyState(DeviceIdentity identity, Map<Integer, SignedPreKey> signedPreKeys,
                    Map<Integer, OneTimePreKey> oneTimePreKeys, Map<String, SessionRecord> sessions) {

        static KeyState read(Path database) throws Exception {
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + database);
                 Statement s = c.createStatement()) {
                DeviceIdentity identity;
                try (ResultSet rs = s.executeQuery("SELECT identity FROM e2e_identity")) {
                    assertThat(rs.next()).as("bob has an identity").isTrue();
                    identity = DeviceIdentity.fromBytes(rs.getBytes(1));
                }
                Map<Integer, SignedPreKey> spks = new HashMap<>();
                try (ResultSet rs = s.executeQuery("SELECT id, record FROM e2e_signed_pre_keys")) {
                    while (rs.next()) {
                        spks.put(rs.getInt(1), SignedPreKey.fromBytes(rs.getBytes(2)));
                    }
                }
                Map<Integer, OneTimePreKey> opks = new HashMap<>();
                try (ResultSet rs = s.executeQuery("SELECT id, record FROM e2e_one_time_pre_keys")) {
                    while (rs.next()) {
                        opks.put(rs.getInt(1), OneTimePreKey.fromBytes(rs.getBytes(2)));
                    }
                }
                Map<String, SessionRecord> sessions = new HashMap<>();
                try (ResultSet rs = s.executeQuery("SELECT user, device, record FROM e2e_sessions")) {
                    while (rs.next()) {
                        sessions.put(rs.getString(1) + "/" + rs.getString(2), SessionRecord.fromBytes(rs.getBytes(3)));
                    }
                }
                return new KeyState(identity, spks, opks, sessions);
            }
        }

        PreKeyLookup lookup() {
            return new PreKeyLookup() {
                @Override
                public Optional<SignedPreKey> signedPreKey(int id) {
                    return Optional.ofNullable(signedPreKeys.get(id));
                }

                @Override
                public Optional<OneTimePreKey> oneTimePreKey(int id) {
                    return Optional.ofNullable(oneTimePreKeys.get(id));
                }
            };
        }

        byte[] decrypt(Conversation c, Target t, byte[] envelope) {
            SessionCipher.Decrypted d = SessionCipher.decrypt(identity, Optional.ofNullable(sessions.get(c.sender() + "/"
                + c.senderDevice())), lookup(), c, t, envelope);
            return PlainMessage.decode(d.plaintext()).body();
        }
    }

    /** One of Alice's messages to Bob's device as it crossed the wire. */
    record Captured(String text, Conversation conversation, byte[] envelope) {
    }

    @Test
    void shouldNotDecryptEarlierMessagesFromTheRatchetStateCapturedAfterThem() throws Exception {
        try (TestServer server = new TestServer(dir).start();
             ChaosProxy aliceWire = new ChaosProxy(server.tcpPort)) {
            Recorder bobSaw = new Recorder();
            Path bobDb = dir.resolve("bob.db");
            // The client holds its database exclusively, so Bob is closed for each capture.
            java.util.function.Supplier<CourierClient> openBob = () -> Clients.builder(server.tcp(), "bob",
                server.tokens("bob"), bobDb, bobSaw).encryption(Encryption.SIGNAL).build();
            CourierClient bob = openBob.get();
            try (CourierClient alice = Clients.builder(aliceWire.address(), "alice", server.tokens("alice"),
                     dir.resolve("alice.db"), new Recorder()).encryption(Encryption.SIGNAL).build()) {
                alice.keysPublished().get(30, SECONDS);
                bob.keysPublished().get(30, SECONDS);
                bob.close();
                KeyState before = KeyState.read(bobDb);
                bob = openBob.get();
                CourierClient bobNow = bob;

                List<String> early = IntStream.range(0, EARLY).mapToObj(i -> "early secret " + i).toList();
                early.forEach(t -> alice.sendText("bob", t));
                await().atMost(30, SECONDS).until(() -> incoming(bobNow, "alice").size() == EARLY);
                // Ratchet steps both ways: Bob answers, Alice writes again, Bob reads it.
                bob.sendText("alice", "reply");
                await().atMost(30, SECONDS).until(() -> incoming(alice, "bob").size() == 1);
                alice.sendText("bob", "later");
                await().atMost(30, SECONDS).until(() -> incoming(bobNow, "alice").size() == EARLY + 1);
                bob.close();
                KeyState after = KeyState.read(bobDb);
                bob = openBob.get();

                // Bob did decrypt each of them when it arrived.
                assertThat(incoming(bob, "alice").subList(0, EARLY)).allSatisfy(m -> {
                    assertThat(m.isUndecryptable()).isFalse();
                    assertThat(m.encryption()).isEqualTo(Encryption.SIGNAL);
                }).extracting(Message::text).containsExactlyElementsOf(early);

                List<Captured> wire = captured(alice, aliceWire, early);
                Target bobsDevice = new Target("bob", bob.device());
                assertThat(new String(before.decrypt(wire.get(0).conversation(), bobsDevice, wire.get(0).envelope()),
                    StandardCharsets.UTF_8)).as("the first message, from Bob's keys before it arrived")
                    .isEqualTo(early.get(0));

                assertThat(after.sessions()).containsKey("alice/" + alice.device());
                List<Reason> reasons = new ArrayList<>();
                for (Captured c : wire) {
                    E2eException e = catchThrowableOfType(() -> after.decrypt(c.conversation(), bobsDevice, c.envelope()),
                        E2eException.class);
                    assertThat(e).as("decrypting '" + c.text() + "' from the state captured after it").isNotNull();
                    reasons.add(e.reason());
                }
                System.out.println("ForwardSecrecyTest: " + wire.size() + " earlier ciphertexts ("
                    + wire.stream().mapToInt(c -> c.envelope().length).sum() + " bytes) tried with Bob's state of "
                    + after.sessions().size() + " session(s), " + after.oneTimePreKeys().size()
                    + " one-time and " + after.signedPreKeys().size() + " signed pre-keys: " + reasons);
                assertThat(reasons).containsOnly(Reason.DUPLICATE_OR_EXPIRED);
            } finally {
                bob.close();
            }
        }
    }

    private static List<Message> incoming(CourierClient client, String peer) {
        return client.history(peer).stream().filter(m -> m.direction() == Direction.INCOMING).toList();
    }

    /** Bob's device payload of each of {@code texts}, as Alice sent it through her proxy. */
    private static List<Captured> captured(CourierClient alice, ChaosProxy wire, List<String> texts) {
        Map<String, String> textById = new HashMap<>();
        alice.history("bob").stream().filter(m -> m.direction() == Direction.OUTGOING)
            .forEach(m -> textById.put(m.clientId(), m.text()));
        Map<String, Captured> byText = new HashMap<>();
        for (Frame f : wire.fromClient) {
            if (!f.hasSend() || !textById.containsKey(f.getSend().getClientMessageId())) {
                continue;
            }
            Send s = f.getSend();
            for (DevicePayload p : s.getDevicePayloadsList()) {
                if (p.getDevice().getUser().equals("bob")) {
                    byText.putIfAbsent(textById.get(s.getClientMessageId()), new Captured(textById.get(s.getClientMessageId()),
                        new Conversation("alice", alice.device(), "bob", s.getClientMessageId()), p.getPayload().toByteArray()));
                }
            }
        }
        return texts.stream().map(t -> {
            assertThat(byText).as("captured on the wire").containsKey(t);
            return byText.get(t);
        }).toList();
    }
}
