package io.courier.client.crypto;

import static io.courier.client.crypto.Json.hex;
import static io.courier.client.crypto.Json.list;
import static io.courier.client.crypto.Json.obj;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Courier golden vectors of vectors.json: this implementation produces exactly those bytes,
 * and decrypts the bytes in the file. To regenerate after a deliberate format change, run with
 * {@code -Dcourier.writeVectors=<file>} and put the written JSON under "courier" in vectors.json.
 */
class CourierVectorsTest {
    private static final Map<String, Object> FILE = obj(Json.vectors().get("courier"));

    @TempDir
    Path dir;

    @Test
    void shouldProduceExactlyTheVectorsInTheFile() throws IOException {
        Map<String, Object> built = CourierVectors.build();
        String out = System.getProperty("courier.writeVectors");
        if (out != null && !out.isEmpty()) {
            Files.writeString(Path.of(out), CourierVectors.toJson(built, "") + "\n");
        }
        assertThat(FILE).as("the courier section of vectors.json").isNotNull();
        for (String section : built.keySet()) {
            assertThat(FILE.get(section)).as(section).isEqualTo(built.get(section));
        }
        assertThat(FILE.keySet()).isEqualTo(built.keySet());
    }

    @Test
    void shouldDecryptTheSharedKeyEnvelopeInTheFile() {
        var v = obj(FILE.get("shared_key"));
        byte[] key = hex(v, "key");
        var c = conversation(obj(v.get("conversation")));
        assertThat(c.encode()).isEqualTo(hex(obj(v.get("conversation")), "encoded"));
        assertThat(SharedKeyCipher.decrypt(id -> Arrays.equals(id, hex(v, "key_id")) ? Optional.of(key) : Optional.empty(),
                c, hex(v, "envelope"))).isEqualTo(hex(v, "plaintext"));
    }

    @Test
    void shouldDecodeThePlaintextsInTheFile() {
        for (Object o : list(FILE.get("plaintext"))) {
            var v = obj(o);
            PlainMessage p = PlainMessage.decode(hex(v, "encoded"));
            assertThat(p.contentType()).isEqualTo(v.get("content_type"));
            assertThat(p.body()).isEqualTo(hex(v, "body"));
            assertThat(p.media().isPresent()).isEqualTo(v.get("media") != null);
            p.media().ifPresent(m -> assertThat(m).isEqualTo(media(obj(v.get("media")))));
        }
    }

    @Test
    void shouldDecryptTheRatchetMessagesInTheFileOnBothSides() {
        var v = obj(FILE.get("x3dh"));
        DeviceIdentity alice = identity(obj(v.get("alice")));
        DeviceIdentity bob = identity(obj(v.get("bob")));
        assertThat(alice.identityDhSignature()).isEqualTo(hex(obj(v.get("alice")), "identity_dh_signature"));
        var s = obj(v.get("bob_signed_pre_key"));
        SignedPreKey spk = new SignedPreKey(((Long) s.get("id")).intValue(), new KeyPair(hex(s, "public"), hex(s, "private")),
                hex(s, "signature"), (Long) s.get("created_at_ms"));
        var o = obj(v.get("bob_one_time_pre_key"));
        OneTimePreKey opk = new OneTimePreKey(((Long) o.get("id")).intValue(), new KeyPair(hex(o, "public"), hex(o, "private")));
        RemoteBundle.of("bob", "laptop", bob, spk, opk).verify();
        List<Object> messages = list(v.get("messages"));
        assertThat(messages).hasSize(6);
        List<Integer> used = new ArrayList<>();
        PreKeyLookup bobKeys = new PreKeyLookup() {
            @Override
            public Optional<SignedPreKey> signedPreKey(int id) {
                return id == spk.id() ? Optional.of(spk) : Optional.empty();
            }

            @Override
            public Optional<OneTimePreKey> oneTimePreKey(int id) {
                return id == opk.id() && used.isEmpty() ? Optional.of(opk) : Optional.empty();
            }
        };
        // Bob reads Alice's three in reverse order, to show any of them starts the session.
        Optional<SessionRecord> bobRecord = Optional.empty();
        for (int i = 2; i >= 0; i--) {
            var m = obj(messages.get(i));
            SessionCipher.Decrypted d = SessionCipher.decrypt(bob, bobRecord, bobKeys, conversation(obj(m.get("conversation"))),
                    new Target((String) m.get("target_user"), (String) m.get("target_device")), hex(m, "envelope"));
            assertThat(d.plaintext()).isEqualTo(hex(m, "plaintext"));
            assertThat(d.senderIdentityKey()).isEqualTo(alice.identityKey());
            d.usedOneTimePreKeyId().ifPresent(used::add);
            bobRecord = Optional.of(d.updated());
        }
        assertThat(used).containsExactly(opk.id());
        // Alice's side: her session as the vectors made it, from the same deterministic entropy.
        Entropy e = Entropy.deterministic(hex(v, "seed"));
        e.bytes(6 * 32);
        SessionRecord aliceRecord = SessionRecord.initiate(alice, RemoteBundle.of("bob", "laptop", bob, spk, opk), e);
        for (int i = 0; i < 3; i++) {
            var m = obj(messages.get(i));
            aliceRecord = aliceRecord.encrypt(conversation(obj(m.get("conversation"))), new Target("bob", "laptop"),
                    hex(m, "plaintext"), e).updated();
        }
        for (int i = 3; i < 6; i++) {
            var m = obj(messages.get(i));
            SessionCipher.Decrypted d = SessionCipher.decrypt(alice, Optional.of(aliceRecord), new PreKeyLookup() {
                @Override
                public Optional<SignedPreKey> signedPreKey(int id) {
                    return Optional.empty();
                }

                @Override
                public Optional<OneTimePreKey> oneTimePreKey(int id) {
                    return Optional.empty();
                }
            }, conversation(obj(m.get("conversation"))), new Target("alice", "phone"), hex(m, "envelope"));
            assertThat(d.plaintext()).isEqualTo(hex(m, "plaintext"));
            aliceRecord = d.updated();
        }
        assertThat(aliceRecord.awaitingReply()).isFalse();
    }

    @Test
    void shouldComputeTheSafetyNumberInTheFile() {
        var v = obj(FILE.get("safety_number"));
        List<byte[]> a = list(v.get("identity_keys_a")).stream().map(k -> java.util.HexFormat.of().parseHex((String) k)).toList();
        List<byte[]> b = list(v.get("identity_keys_b")).stream().map(k -> java.util.HexFormat.of().parseHex((String) k)).toList();
        assertThat(SafetyNumber.of((String) v.get("user_b"), b, (String) v.get("user_a"), a)).isEqualTo(v.get("safety_number"));
    }

    @Test
    void shouldDecryptTheMediaBlobInTheFile() throws IOException {
        var v = obj(FILE.get("media"));
        Path blob = Files.write(dir.resolve("blob"), hex(v, "blob"));
        MediaCipher.decrypt(blob, dir.resolve("out"), media(obj(v.get("media"))));
        assertThat(Files.readAllBytes(dir.resolve("out"))).isEqualTo(hex(v, "file"));
    }

    private static Conversation conversation(Map<String, Object> c) {
        return new Conversation((String) c.get("sender"), (String) c.get("sender_device"), (String) c.get("recipient"),
                (String) c.get("client_message_id"));
    }

    private static MediaKeyInfo media(Map<String, Object> m) {
        return new MediaKeyInfo(hex(m, "media_key"), hex(m, "blob_sha256"), (Long) m.get("plain_size"),
                (String) m.get("file_name"), (String) m.get("content_type"));
    }

    private static DeviceIdentity identity(Map<String, Object> m) {
        return DeviceIdentity.of(new KeyPair(hex(m, "iks_public"), hex(m, "iks_seed")),
                new KeyPair(hex(m, "ikd_public"), hex(m, "ikd_private")));
    }
}
