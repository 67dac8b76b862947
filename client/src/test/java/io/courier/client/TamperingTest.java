package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.courier.client.crypto.Conversation;
import io.courier.client.crypto.DeviceIdentity;
import io.courier.client.crypto.Entropy;
import io.courier.client.crypto.PlainMessage;
import io.courier.client.crypto.Reason;
import io.courier.client.crypto.RemoteBundle;
import io.courier.client.crypto.SessionRecord;
import io.courier.client.crypto.Target;
import io.courier.transport.proto.DeviceAddress;
import io.courier.transport.proto.DevicePayload;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.KeyBundleFetch;
import io.courier.transport.proto.KeyBundles;
import io.courier.transport.proto.Send;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each tampering case of docs/E2E.md section 10 fails with its reason, and the message it spoils
 * is stored as undecryptable, shown in the history, acknowledged to the server (so it is not
 * delivered again: a fresh connection of Bob's device gets the next message and not it), and the
 * client keeps working: the next good message decrypts.
 */
class TamperingTest {

    @TempDir
    Path dir;

    private CourierClient open(TestServer server, java.net.URI address, String user, Encryption mode) {
        return Clients.builder(address, user, server.tokens(user), dir.resolve(user + ".db"), new Recorder())
            .encryption(mode).build();
    }

    private static Optional<Message> incoming(CourierClient client, String peer, String clientId) {
        return client.history(peer).stream()
            .filter(m -> m.direction() == Direction.INCOMING && m.clientId().equals(clientId)).findFirst();
    }

    /**
     * Bob's message {@code clientId} from {@code peer} is stored undecryptable for {@code reason}
     * and acknowledged; then {@code sendGood} sends a good message from Alice, which a fresh raw
     * connection of Bob's device is handed next (the spoiled one is not handed out again), and
     * Bob, opened again on his database, decrypts. Returns Bob as opened again.
     */
    private CourierClient assertSpoiled(TestServer server, ChaosProxy bobWire, CourierClient bob, String peer,
                                        String clientId, Reason reason, Encryption mode,
                                        java.util.concurrent.Callable<String> sendGood) throws Exception {
        await().atMost(30, SECONDS).until(() -> incoming(bob, peer, clientId).isPresent());
        Message spoiled = incoming(bob, peer, clientId).orElseThrow();
        System.out.println("TamperingTest: " + spoiled);
        assertThat(spoiled.isUndecryptable()).isTrue();
        assertThat(spoiled.undecryptable()).isEqualTo(reason);
        assertThat(spoiled.contentType()).isEqualTo("application/vnd.courier.e2e");
        long serverId = spoiled.serverId();
        await().atMost(30, SECONDS).alias("bob acknowledges the spoiled message").until(() -> bobWire.fromClient.stream()
            .anyMatch(f -> f.hasDeliveryAck() && f.getDeliveryAck().getServerMessageIdsList().contains(serverId)));
        bob.close();

        String good = sendGood.call();
        try (RawClient raw = RawClient.connect(server.tcpPort, "bob", "1", server.token("bob"))) {
            Frame next = raw.await(f -> f.hasDeliver() && f.getDeliver().getClientMessageId().equals(good));
            assertThat(raw.received.stream().filter(Frame::hasDeliver).map(f -> f.getDeliver().getServerMessageId()))
                .as("what the server hands Bob's device up to the next message").doesNotContain(serverId);
            assertThat(next.getDeliver().getServerMessageId()).isGreaterThan(serverId);
        }
        CourierClient again = open(server, bobWire.address(), "bob", mode);
        await().atMost(30, SECONDS).until(() -> incoming(again, "alice", good).isPresent());
        Message m = incoming(again, "alice", good).orElseThrow();
        assertThat(m.isUndecryptable()).as(m.toString()).isFalse();
        assertThat(incoming(again, peer, clientId)).as("still in the history, once")
            .hasValueSatisfying(x -> assertThat(x.undecryptable()).isEqualTo(reason));
        assertThat(again.history(peer).stream().filter(x -> x.clientId().equals(clientId))).hasSize(1);
        return again;
    }

    @ParameterizedTest
    @EnumSource(value = Encryption.class, names = {"SHARED_KEY", "SIGNAL"})
    void shouldStoreAMessageWithOneFlippedBitAsUndecryptableWithBadCiphertext(Encryption mode) throws Exception {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        AtomicBoolean once = new AtomicBoolean();
        // The last bit of the envelope is in the AEAD tag.
        Tamper flip = new Tamper(d -> d.getSender().equals("alice") && once.compareAndSet(false, true), -1);
        Encryption clientMode = mode == Encryption.SIGNAL ? Encryption.SIGNAL : Encryption.NONE;
        try (TestServer server = new TestServer(dir).start();
             ChaosProxy bobWire = new ChaosProxy(server.tcpPort)) {
            bobWire.rewriteFromServer(flip);
            CourierClient alice = open(server, server.tcp(), "alice", clientMode);
            CourierClient bob = open(server, bobWire.address(), "bob", clientMode);
            try {
                if (mode == Encryption.SHARED_KEY) {
                    alice.setSharedKey("bob", key);
                    bob.setSharedKey("alice", key);
                } else {
                    alice.keysPublished().get(30, SECONDS);
                    bob.keysPublished().get(30, SECONDS);
                }
                String id = alice.sendText("bob", "one bit of this will flip");
                bob = assertSpoiled(server, bobWire, bob, "alice", id, Reason.BAD_CIPHERTEXT, clientMode,
                    () -> alice.sendText("bob", "the next one is good"));
                assertThat(flip.flipped).hasSize(1);
                assertThat(flip.flipped.get(0).original().getClientMessageId()).isEqualTo(id);
            } finally {
                alice.close();
                bob.close();
            }
        }
    }

    @Test
    void shouldStoreAMessageUnderAnotherSharedKeyAsUndecryptableWithNoKey() throws Exception {
        byte[] alicesKey = new byte[32];
        byte[] bobsKey = new byte[32];
        new SecureRandom().nextBytes(alicesKey);
        new SecureRandom().nextBytes(bobsKey);
        try (TestServer server = new TestServer(dir).start();
             ChaosProxy bobWire = new ChaosProxy(server.tcpPort)) {
            CourierClient alice = open(server, server.tcp(), "alice", Encryption.NONE);
            CourierClient bob = open(server, bobWire.address(), "bob", Encryption.NONE);
            try {
                alice.setSharedKey("bob", alicesKey);
                bob.setSharedKey("alice", bobsKey);
                String id = alice.sendText("bob", "under the wrong key");
                // The next one goes out under the key Bob has too.
                bob = assertSpoiled(server, bobWire, bob, "alice", id, Reason.NO_KEY, Encryption.NONE, () -> {
                    alice.setSharedKey("bob", bobsKey);
                    return alice.sendText("bob", "under the right key");
                });
            } finally {
                alice.close();
                bob.close();
            }
        }
    }

    @Test
    void shouldRefuseACiphertextReplayedIntoAnotherConversationAndUnderAnotherMessageId() throws Exception {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        try (TestServer server = new TestServer(dir).start();
             ChaosProxy aliceWire = new ChaosProxy(server.tcpPort);
             ChaosProxy bobWire = new ChaosProxy(server.tcpPort)) {
            CourierClient alice = open(server, aliceWire.address(), "alice", Encryption.NONE);
            CourierClient bob = open(server, bobWire.address(), "bob", Encryption.NONE);
            try {
                alice.setSharedKey("bob", key);
                bob.setSharedKey("alice", key);
                // Carol's conversation with Bob has the same key on purpose: only the associated
                // data tells the two conversations apart.
                bob.setSharedKey("carol", key);
                String id = alice.sendText("bob", "meant for bob from alice, once");
                CourierClient bobFirst = bob;
                await().atMost(30, SECONDS).until(() -> incoming(bobFirst, "alice", id).isPresent());
                assertThat(incoming(bobFirst, "alice", id).orElseThrow().text()).isEqualTo("meant for bob from alice, once");
                Send original = aliceWire.fromClient.stream().filter(f -> f.hasSend()
                    && f.getSend().getClientMessageId().equals(id)).findFirst().orElseThrow().getSend();

                try (RawClient carol = RawClient.connect(server.tcpPort, "carol", "1", server.token("carol"))) {
                    carol.sendAndAwaitAccepted(original.toBuilder().build());
                }
                CourierClient aliceFirst = alice;
                bob = assertSpoiled(server, bobWire, bob, "carol", id, Reason.BAD_CIPHERTEXT, Encryption.NONE,
                    () -> aliceFirst.sendText("bob", "good after the replay into carol's conversation"));

                alice.close();
                String replayedId = "replayed-" + id;
                try (RawClient aliceAgain = RawClient.connect(server.tcpPort, "alice", alice.device(), server.token("alice"))) {
                    aliceAgain.sendAndAwaitAccepted(original.toBuilder().setClientMessageId(replayedId).build());
                }
                CourierClient alice2 = open(server, aliceWire.address(), "alice", Encryption.NONE);
                alice = alice2;
                bob = assertSpoiled(server, bobWire, bob, "alice", replayedId, Reason.BAD_CIPHERTEXT, Encryption.NONE,
                    () -> alice2.sendText("bob", "good after the replay under another id"));
            } finally {
                alice.close();
                bob.close();
            }
        }
    }

    /**
     * Signal mode, where the message key is still unused: Bob's device never gets the original (a
     * raw connection of his device takes and acknowledges it first), so only the associated data
     * can refuse the copies that Carol sends as hers and that Alice's device sends again under
     * another message id.
     */
    @Test
    void shouldRefuseASignalCiphertextReplayedIntoAnotherConversationAndUnderAnotherIdBeforeTheOriginal()
        throws Exception {
        try (TestServer server = new TestServer(dir).start();
             ChaosProxy aliceWire = new ChaosProxy(server.tcpPort);
             ChaosProxy bobWire = new ChaosProxy(server.tcpPort)) {
            CourierClient alice = open(server, aliceWire.address(), "alice", Encryption.SIGNAL);
            CourierClient bob = open(server, bobWire.address(), "bob", Encryption.SIGNAL);
            try {
                alice.keysPublished().get(30, SECONDS);
                bob.keysPublished().get(30, SECONDS);
                bob.close();
                CourierClient aliceFirst = alice;
                String id = alice.sendText("bob", "the original, which bob's client never gets");
                await().atMost(30, SECONDS).until(() -> aliceFirst.message(id).orElseThrow().state() != MessageState.PENDING);
                Send original = aliceWire.fromClient.stream().filter(f -> f.hasSend()
                    && f.getSend().getClientMessageId().equals(id)).findFirst().orElseThrow().getSend();
                assertThat(original.getDevicePayloadsList()).extracting(p -> p.getDevice().getUser()).containsOnly("bob");
                try (RawClient bobsDevice = RawClient.connect(server.tcpPort, "bob", bob.device(), server.token("bob"))) {
                    long serverId = bobsDevice.await(f -> f.hasDeliver() && f.getDeliver().getClientMessageId().equals(id))
                        .getDeliver().getServerMessageId();
                    bobsDevice.send(Frame.newBuilder().setDeliveryAck(io.courier.transport.proto.DeliveryAck.newBuilder()
                        .addServerMessageIds(serverId)));
                    // Frames of one connection are handled in order: once this is answered, the ack is in.
                    long query = bobsDevice.nextRequestId();
                    bobsDevice.send(Frame.newBuilder().setRequestId(query).setPresenceQuery(
                        io.courier.transport.proto.PresenceQuery.newBuilder().setUser("alice")));
                    bobsDevice.await(f -> f.getRequestId() == query);
                }
                alice.close();
                try (RawClient carol = RawClient.connect(server.tcpPort, "carol", "1", server.token("carol"));
                     RawClient aliceAgain = RawClient.connect(server.tcpPort, "alice", alice.device(),
                         server.token("alice"))) {
                    carol.sendAndAwaitAccepted(original.toBuilder().build());
                    aliceAgain.sendAndAwaitAccepted(original.toBuilder().setClientMessageId("replayed-" + id).build());
                }
                CourierClient alice2 = open(server, aliceWire.address(), "alice", Encryption.SIGNAL);
                alice = alice2;
                bob = open(server, bobWire.address(), "bob", Encryption.SIGNAL);
                bob = assertSpoiled(server, bobWire, bob, "carol", id, Reason.BAD_CIPHERTEXT, Encryption.SIGNAL,
                    () -> alice2.sendText("bob", "good after the replay into carol's conversation"));
                bob = assertSpoiled(server, bobWire, bob, "alice", "replayed-" + id, Reason.BAD_CIPHERTEXT,
                    Encryption.SIGNAL, () -> alice2.sendText("bob", "good after the replay under another id"));
                assertThat(incoming(bob, "alice", id)).as("the original never reached bob's client").isEmpty();
            } finally {
                alice.close();
                bob.close();
            }
        }
    }

    @Test
    void shouldRefuseToEncryptToADeviceWhoseSignedPreKeySignatureDoesNotVerify() throws Exception {
        try (TestServer server = new TestServer(dir).start();
             ChaosProxy aliceWire = new ChaosProxy(server.tcpPort);
             RawClient mallory = RawClient.connect(server.tcpPort, "mallory", "1", server.token("mallory"));
             RawClient trent = RawClient.connect(server.tcpPort, "trent", "1", server.token("trent"))) {
            KeyPair identity = RawKeys.generate("Ed25519");
            publish(mallory, RawKeys.bundle(identity, RawKeys.generate("Ed25519"), 7));
            KeyPair trentsIdentity = RawKeys.generate("Ed25519");
            publish(trent, RawKeys.bundle(trentsIdentity, trentsIdentity, 7));
            try (CourierClient alice = open(server, aliceWire.address(), "alice", Encryption.SIGNAL);
                 CourierClient bob = open(server, server.tcp(), "bob", Encryption.SIGNAL)) {
                alice.keysPublished().get(30, SECONDS);
                bob.keysPublished().get(30, SECONDS);
                String forged = alice.sendText("mallory", "never to a forged key");
                await().atMost(30, SECONDS).until(() -> alice.message(forged).orElseThrow().state() == MessageState.FAILED);
                Message failed = alice.message(forged).orElseThrow();
                System.out.println("TamperingTest: " + failed);
                assertThat(failed.failureCode()).isEqualTo(Reason.FORGED_PRE_KEY.name());
                // The genuine bundle made the same way is encrypted to, so it is the signature that counts.
                String genuine = alice.sendText("trent", "to a genuine key");
                Frame delivered = trent.await(f -> f.hasDeliver() && f.getDeliver().getClientMessageId().equals(genuine));
                assertThat(delivered.getDeliver().getContentType()).isEqualTo("application/vnd.courier.e2e");
                // And the client keeps working.
                String good = alice.sendText("bob", "still working");
                await().atMost(30, SECONDS).until(() -> incoming(bob, "alice", good).isPresent());
                assertThat(incoming(bob, "alice", good).orElseThrow().text()).isEqualTo("still working");
                assertThat(aliceWire.fromClient.stream().filter(Frame::hasSend)
                    .map(f -> f.getSend().getRecipient())).as("sends that crossed alice's wire").doesNotContain("mallory");
                assertThat(mallory.received.stream().filter(Frame::hasDeliver)).isEmpty();
            }
        }
    }

    private static void publish(RawClient device, io.courier.transport.proto.KeyBundlePublish bundle) throws Exception {
        long id = device.nextRequestId();
        device.send(Frame.newBuilder().setRequestId(id).setKeyBundlePublish(bundle));
        Frame answer = device.await(f -> f.getRequestId() == id);
        assertThat(answer.hasKeyBundles()).as(answer.toString()).isTrue();
    }

    @Test
    void shouldStoreASecondInitialMessageWithAUsedOneTimePreKeyAsUndecryptable() throws Exception {
        try (TestServer server = new TestServer(dir).start();
             ChaosProxy aliceWire = new ChaosProxy(server.tcpPort);
             ChaosProxy bobWire = new ChaosProxy(server.tcpPort)) {
            CourierClient alice = open(server, aliceWire.address(), "alice", Encryption.SIGNAL);
            CourierClient bob = open(server, bobWire.address(), "bob", Encryption.SIGNAL);
            try {
                alice.keysPublished().get(30, SECONDS);
                bob.keysPublished().get(30, SECONDS);
                String first = alice.sendText("bob", "the first, with bob's one-time pre-key");
                CourierClient bobNow = bob;
                await().atMost(30, SECONDS).until(() -> incoming(bobNow, "alice", first).isPresent());
                assertThat(incoming(bobNow, "alice", first).orElseThrow().isUndecryptable()).isFalse();
                KeyBundles.Bundle used = aliceWire.fromServer.stream()
                    .filter(f -> f.hasKeyBundles() && f.getKeyBundles().getUser().equals("bob"))
                    .flatMap(f -> f.getKeyBundles().getBundlesList().stream())
                    .filter(KeyBundles.Bundle::hasOneTimePreKey).findFirst().orElseThrow();

                try (RawClient carol = RawClient.connect(server.tcpPort, "carol", "1", server.token("carol"))) {
                    // Control: a fresh bundle (a new one-time pre-key) makes a message Bob decrypts,
                    // so the raw X3DH below is right and only the reuse spoils it.
                    long fetch = carol.nextRequestId();
                    carol.send(Frame.newBuilder().setRequestId(fetch).setKeyBundleFetch(KeyBundleFetch.newBuilder()
                        .setUser("bob")));
                    KeyBundles.Bundle fresh = carol.await(f -> f.getRequestId() == fetch).getKeyBundles().getBundles(0);
                    assertThat(fresh.getOneTimePreKey().getId()).isNotEqualTo(used.getOneTimePreKey().getId());
                    String freshId = "carol-fresh";
                    carol.sendAndAwaitAccepted(x3dhSend(fresh, freshId, "from carol, a fresh key"));
                    await().atMost(30, SECONDS).until(() -> incoming(bobNow, "carol", freshId).isPresent());
                    assertThat(incoming(bobNow, "carol", freshId).orElseThrow().text()).isEqualTo("from carol, a fresh key");

                    carol.sendAndAwaitAccepted(x3dhSend(used, "carol-reused", "from carol, alice's used key"));
                }
                bob = assertSpoiled(server, bobWire, bob, "carol", "carol-reused", Reason.ONE_TIME_PRE_KEY_REUSED,
                    Encryption.SIGNAL, () -> alice.sendText("bob", "good after the reuse"));
            } finally {
                alice.close();
                bob.close();
            }
        }
    }

    /** A Send from a new device carol/1 (no bundle of its own) to bob/1, started by X3DH on {@code bundle}. */
    private static Send x3dhSend(KeyBundles.Bundle bundle, String clientId, String text) {
        Entropy entropy = Entropy.secure();
        DeviceIdentity carol = DeviceIdentity.generate(entropy);
        RemoteBundle remote = new RemoteBundle("bob", bundle.getDevice(), bundle.getIdentityKey().toByteArray(),
            bundle.getIdentityDhKey().toByteArray(), bundle.getIdentityDhSignature().toByteArray(),
            bundle.getSignedPreKeyId(), bundle.getAgreementKey().toByteArray(), bundle.getSignature().toByteArray(),
            bundle.getOneTimePreKey().getId(), bundle.getOneTimePreKey().getPublicKey().toByteArray());
        SessionRecord session = SessionRecord.initiate(carol, remote, entropy);
        byte[] plaintext = new PlainMessage("text/plain", text.getBytes(StandardCharsets.UTF_8), Optional.empty()).encode();
        byte[] envelope = session.encrypt(new Conversation("carol", "1", "bob", clientId),
            new Target("bob", bundle.getDevice()), plaintext, entropy).envelope();
        return Send.newBuilder().setClientMessageId(clientId).setRecipient("bob")
            .setContentType("application/vnd.courier.e2e")
            .addDevicePayloads(DevicePayload.newBuilder().setDevice(DeviceAddress.newBuilder().setUser("bob")
                .setDevice(bundle.getDevice())).setPayload(ByteString.copyFrom(envelope)))
            .build();
    }
}
