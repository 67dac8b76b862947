package io.courier.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.courier.client.Encryption;
import io.courier.client.Message;
import io.courier.client.crypto.Entropy;
import io.courier.client.crypto.Envelope;
import io.courier.client.crypto.Reason;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.KeyBundlePublish;
import io.courier.transport.proto.KeyBundles;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SDK's Signal-mode flow on two real databases with the crypto core, the server's part played
 * by hand (a publish becomes the bundle a fetch returns, a Send's payload becomes a Deliver): what
 * is stored when, and what is refused.
 */
class EndToEndFlowTest {

    @TempDir
    Path dir;

    private EngineSettings settings(String user, String device) {
        return new EngineSettings(URI.create("tcp://127.0.0.1:1"), user, device, () -> "t",
            dir.resolve(user + device + ".db"), dir.resolve(user + device + "-media"), Clock.systemUTC(), null, 1,
            Duration.ofSeconds(30), Duration.ofMillis(1), Duration.ofMillis(2), "test", 1, 1, List.of(),
            Encryption.SIGNAL);
    }

    /** The bundle a fetch would hand out for what {@code publish} published, with its first one-time pre-key. */
    private static KeyBundles.Bundle bundle(String device, KeyBundlePublish p, boolean withOneTime) {
        KeyBundles.Bundle.Builder b = KeyBundles.Bundle.newBuilder().setDevice(device).setIdentityKey(p.getIdentityKey())
            .setAgreementKey(p.getAgreementKey()).setSignature(p.getSignature()).setIdentityDhKey(p.getIdentityDhKey())
            .setIdentityDhSignature(p.getIdentityDhSignature()).setSignedPreKeyId(p.getSignedPreKeyId());
        if (withOneTime) {
            b.setOneTimePreKey(p.getOneTimePreKeys(0));
        }
        return b.build();
    }

    private static Deliver deliver(long serverId, Message m, byte[] payload) {
        return Deliver.newBuilder().setServerMessageId(serverId).setSender(m.sender()).setSenderDevice(m.senderDevice())
            .setRecipient(m.recipient()).setClientMessageId(m.clientId()).setContentType(Envelope.CONTENT_TYPE)
            .setPayload(ByteString.copyFrom(payload)).build();
    }

    @Test
    void shouldFetchEncryptStoreAndDecryptWithTheOneTimePreKeyErasedAndRefuseAReplay() throws Exception {
        Entropy entropy = Entropy.secure();
        try (Store aliceDb = Store.open(dir.resolve("alice.db")); Store bobDb = Store.open(dir.resolve("bob.db"))) {
            EndToEnd alice = new EndToEnd(aliceDb, settings("alice", "1"), entropy);
            EndToEnd bob = new EndToEnd(bobDb, settings("bob", "1"), entropy);
            alice.open(0);
            bob.open(0);
            assertThat(bobDb.oneTimePreKeyCount()).isEqualTo(100);
            EndToEnd.Publish bobKeys = bob.publishDue(0);
            assertThat(bobKeys.frame().getOneTimePreKeysCount()).isEqualTo(100);
            bob.published(bobKeys);
            assertThat(bob.publishDue(0)).isNull();
            assertThat(bob.publishedAll(0)).isTrue();

            long localId = aliceDb.insertOutgoing("c-1", "bob", "alice", "1", "text/plain",
                "hello bob".getBytes(StandardCharsets.UTF_8), 0);
            Message m = aliceDb.byLocalId(localId);
            EndToEnd.Preparation first = alice.prepare(m, null);
            assertThat(first).isEqualTo(new EndToEnd.Fetch(Map.of("bob", Set.of(), "alice", Set.of())));
            assertThat(alice.fetched("bob", Set.of(), List.of(bundle("1", bobKeys.frame(), true)))).isFalse();
            assertThat(alice.fetched("alice", Set.of(), List.of())).isFalse();
            EndToEnd.Preparation ready = alice.prepare(m, null);
            assertThat(ready).isInstanceOf(EndToEnd.Ready.class);
            Map<Store.DeviceKey, byte[]> payloads = ((EndToEnd.Ready) ready).payloads();
            assertThat(payloads).containsOnlyKeys(new Store.DeviceKey("bob", "1"));
            aliceDb.commit();
            // A resend reuses the stored ciphertext: the ratchet does not move again.
            byte[] session = aliceDb.session("bob", "1");
            EndToEnd.Preparation again = alice.prepare(aliceDb.byLocalId(localId), null);
            assertThat(((EndToEnd.Ready) again).payloads().get(new Store.DeviceKey("bob", "1")))
                .isEqualTo(payloads.get(new Store.DeviceKey("bob", "1")));
            assertThat(aliceDb.session("bob", "1")).isEqualTo(session);

            byte[] envelope = payloads.get(new Store.DeviceKey("bob", "1"));
            EndToEnd.Decryption d = bob.decrypt(deliver(10, m, envelope));
            assertThat(d.failure()).isNull();
            assertThat(new String(d.body(), StandardCharsets.UTF_8)).isEqualTo("hello bob");
            assertThat(d.contentType()).isEqualTo("text/plain");
            assertThat(d.encryption()).isEqualTo(Encryption.SIGNAL);
            assertThat(bobDb.oneTimePreKeyCount()).isEqualTo(99);
            assertThat(bobDb.session("alice", "1")).isNotNull();
            bobDb.commit();

            // The same ciphertext again, passed off as another message id: its key is used, so it
            // fails (E2E.md names the used key first), and changes nothing.
            byte[] bobSession = bobDb.session("alice", "1");
            Message other = new Message(m.localId(), m.conversation(), "c-2", 0, m.direction(), m.sender(),
                m.senderDevice(), m.recipient(), m.contentType(), m.payload(), m.state(), m.createdAt(), null, null,
                null, null, Encryption.SIGNAL, null);
            EndToEnd.Decryption replay = bob.decrypt(deliver(11, other, envelope));
            assertThat(replay.failure()).isEqualTo(Reason.DUPLICATE_OR_EXPIRED);
            assertThat(replay.body()).isEqualTo(envelope);
            assertThat(bobDb.session("alice", "1")).isEqualTo(bobSession);
        }
    }

    @Test
    void shouldRefuseToEncryptToAForgedBundleAndAnnounceAChangedKey() throws Exception {
        Entropy entropy = Entropy.secure();
        try (Store aliceDb = Store.open(dir.resolve("alice.db")); Store bobDb = Store.open(dir.resolve("bob.db"));
             Store otherDb = Store.open(dir.resolve("other.db"))) {
            EndToEnd alice = new EndToEnd(aliceDb, settings("alice", "1"), entropy);
            EndToEnd bob = new EndToEnd(bobDb, settings("bob", "1"), entropy);
            EndToEnd impostor = new EndToEnd(otherDb, settings("bob", "1"), entropy);
            alice.open(0);
            bob.open(0);
            impostor.open(0);
            KeyBundlePublish real = bob.publishDue(0).frame();
            KeyBundlePublish fake = impostor.publishDue(0).frame();
            // bob's identity with the impostor's signed pre-key: the signature does not verify.
            KeyBundlePublish forged = real.toBuilder().setAgreementKey(fake.getAgreementKey()).build();
            long localId = aliceDb.insertOutgoing("c-1", "bob", "alice", "1", "text/plain", new byte[] {1}, 0);
            Message m = aliceDb.byLocalId(localId);
            alice.fetched("alice", Set.of(), List.of());
            alice.fetched("bob", Set.of(), List.of(bundle("1", forged, false)));
            EndToEnd.Preparation refused = alice.prepare(m, null);
            assertThat(refused).isInstanceOf(EndToEnd.Refused.class);
            assertThat(((EndToEnd.Refused) refused).code()).isEqualTo("FORGED_PRE_KEY");
            assertThat(aliceDb.outboxPayloads(localId)).isEmpty();

            // The genuine bundle: trusted on first use. Then another key for the same device: changed.
            assertThat(alice.fetched("bob", Set.of("1"), List.of(bundle("1", real, true)))).isFalse();
            assertThat(alice.prepare(m, null)).isInstanceOf(EndToEnd.Ready.class);
            assertThat(alice.fetched("bob", Set.of(), List.of(bundle("1", fake, true)))).isTrue();
            assertThat(alice.safetyNumber("bob")).matches("(\\d{5} ){11}\\d{5}");
        }
    }
}
