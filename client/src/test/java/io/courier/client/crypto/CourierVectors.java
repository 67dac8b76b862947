package io.courier.client.crypto;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Builds the "courier" section of vectors.json with deterministic entropy: what this
 * implementation produces, which the test compares with the file and the browser reproduces.
 */
final class CourierVectors {
    static final String COMMENT = "Made by the Java implementation with Entropy.deterministic(seed): the concatenation of "
            + "SHA256(seed || be64(i)) for i = 0, 1, 2, ..., handed out in order (a request may span two blocks; nothing is "
            + "skipped). Each scenario has its own seed (hex; the UTF-8 of a label) and lists, in 'entropy_order', what took "
            + "the random bytes, in order. X25519 private keys are the raw 32 random bytes (unclamped; X25519 clamps them); "
            + "Ed25519 private keys are 32-byte seeds. 'plaintext' fields are PlainMessage encodings (E2E.md section 7). "
            + "In 'x3dh', 'messages' is the exchange in the order it happened: Alice sends a1-a3 (each with the x3dh header, "
            + "using no entropy), Bob decrypts them, then sends b1-b3 (b1 turns the ratchet and takes 32 bytes for his new "
            + "ratchet key), Alice decrypts them. 'sk' is X3DH's SK and 'ad' its ADx, for debugging.";

    private CourierVectors() {
    }

    static Map<String, Object> build() {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("_comment", COMMENT);
        v.put("entropy", entropy());
        v.put("shared_key", sharedKey());
        v.put("plaintext", plaintexts());
        v.put("x3dh", x3dh());
        v.put("safety_number", safetyNumber());
        v.put("media", media());
        return v;
    }

    static byte[] seed(String label) {
        return label.getBytes(StandardCharsets.UTF_8);
    }

    static String hex(byte[] b) {
        return Bytes.hex(b);
    }

    private static Map<String, Object> conversation(Conversation c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("sender", c.sender());
        m.put("sender_device", c.senderDevice());
        m.put("recipient", c.recipient());
        m.put("client_message_id", c.clientMessageId());
        m.put("encoded", hex(c.encode()));
        return m;
    }

    /** The first 80 bytes of one deterministic stream, handed out as 12 then 68 bytes (a request spanning blocks). */
    private static Map<String, Object> entropy() {
        byte[] seed = seed("courier vectors: entropy");
        Entropy e = Entropy.deterministic(seed);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seed", hex(seed));
        m.put("bytes", hex(Bytes.concat(e.bytes(12), e.bytes(68))));
        m.put("first_block", hex(Primitives.sha256(seed, Bytes.be64(0))));
        return m;
    }

    private static Map<String, Object> sharedKey() {
        byte[] seed = seed("courier vectors: shared key");
        Entropy e = Entropy.deterministic(seed);
        byte[] key = e.bytes(32);
        Conversation c = new Conversation("alice", "phone", "bob", "msg-0001");
        byte[] plaintext = new PlainMessage("text/plain", "Hello Bob, shared key here".getBytes(StandardCharsets.UTF_8),
                Optional.empty()).encode();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seed", hex(seed));
        m.put("entropy_order", List.of("key (32)", "nonce (12)"));
        m.put("key", hex(key));
        m.put("key_id", hex(SharedKeyCipher.keyId(key)));
        m.put("conversation", conversation(c));
        m.put("plaintext", hex(plaintext));
        m.put("envelope", hex(SharedKeyCipher.encrypt(key, c, plaintext, e)));
        return m;
    }

    private static Map<String, Object> mediaInfo(MediaKeyInfo i) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("media_key", hex(i.mediaKey()));
        m.put("blob_sha256", hex(i.blobSha256()));
        m.put("plain_size", i.plainSize());
        m.put("file_name", i.fileName());
        m.put("content_type", i.contentType());
        return m;
    }

    static MediaKeyInfo plaintextMedia() {
        byte[] key = new byte[64];
        byte[] sha = new byte[32];
        for (int i = 0; i < 64; i++) {
            key[i] = (byte) i;
        }
        for (int i = 0; i < 32; i++) {
            sha[i] = (byte) (0xa0 + i);
        }
        return new MediaKeyInfo(key, sha, 123456, "café.jpg", "image/jpeg");
    }

    private static List<Object> plaintexts() {
        List<Object> l = new ArrayList<>();
        PlainMessage text = new PlainMessage("text/plain", "Grüße, Bob".getBytes(StandardCharsets.UTF_8), Optional.empty());
        PlainMessage media = new PlainMessage("text/plain", "a photo".getBytes(StandardCharsets.UTF_8),
                Optional.of(plaintextMedia()));
        for (PlainMessage p : List.of(text, media)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", p.media().isPresent() ? "with media" : "without media");
            m.put("content_type", p.contentType());
            m.put("body", hex(p.body()));
            m.put("media", p.media().map(CourierVectors::mediaInfo).orElse(null));
            m.put("encoded", hex(p.encode()));
            l.add(m);
        }
        return l;
    }

    private static Map<String, Object> identity(DeviceIdentity d) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("iks_seed", hex(d.signingKeys().privateKey()));
        m.put("iks_public", hex(d.identityKey()));
        m.put("ikd_private", hex(d.dhKeys().privateKey()));
        m.put("ikd_public", hex(d.identityDhKey()));
        m.put("identity_dh_signature", hex(d.identityDhSignature()));
        return m;
    }

    private static Map<String, Object> keyPair(int id, KeyPair k) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", (long) id);
        m.put("private", hex(k.privateKey()));
        m.put("public", hex(k.publicKey()));
        return m;
    }

    private static Map<String, Object> message(Conversation c, Target t, byte[] plaintext, byte[] envelope) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("conversation", conversation(c));
        m.put("target_user", t.user());
        m.put("target_device", t.device());
        m.put("target_encoded", hex(t.encode()));
        m.put("plaintext", hex(plaintext));
        m.put("envelope", hex(envelope));
        return m;
    }

    static byte[] text(String s) {
        return new PlainMessage("text/plain", s.getBytes(StandardCharsets.UTF_8), Optional.empty()).encode();
    }

    private static Map<String, Object> x3dh() {
        byte[] seed = seed("courier vectors: x3dh and double ratchet");
        Entropy e = Entropy.deterministic(seed);
        DeviceIdentity alice = DeviceIdentity.generate(e);
        DeviceIdentity bob = DeviceIdentity.generate(e);
        SignedPreKey spk = SignedPreKey.generate(bob, 1, 1_700_000_000_000L, e);
        OneTimePreKey opk = OneTimePreKey.generate(42, e);
        RemoteBundle bundle = RemoteBundle.of("bob", "laptop", bob, spk, opk);
        // EK_A is the next 32 bytes; the test re-derives SK from it to publish SK for debugging.
        SessionRecord aliceRecord = SessionRecord.initiate(alice, bundle, e);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seed", hex(seed));
        m.put("entropy_order", List.of("alice IKs seed (32)", "alice IKd private (32)", "bob IKs seed (32)",
                "bob IKd private (32)", "bob signed pre-key private (32)", "bob one-time pre-key private (32)",
                "alice EK_A private (32)", "alice first ratchet key DHs private (32)", "bob's ratchet key when he sends b1 (32)"));
        m.put("alice", identity(alice));
        m.put("bob", identity(bob));
        Map<String, Object> spkMap = keyPair(spk.id(), spk.keys());
        spkMap.put("signature", hex(spk.signature()));
        spkMap.put("created_at_ms", spk.createdAtMs());
        m.put("bob_signed_pre_key", spkMap);
        m.put("bob_one_time_pre_key", keyPair(opk.id(), opk.keys()));
        SessionState a = aliceRecord.states().get(0);
        m.put("alice_ephemeral_public", hex(a.baseKey));
        m.put("ad", hex(a.associatedData));
        m.put("sk", hex(x3dhSk(alice, bundle, Entropy.deterministic(seed), spk, opk)));
        List<Object> messages = new ArrayList<>();
        List<byte[]> fromAlice = new ArrayList<>();
        Target toBob = new Target("bob", "laptop");
        for (int i = 1; i <= 3; i++) {
            Conversation c = new Conversation("alice", "phone", "bob", "a" + i);
            byte[] p = text("Hello Bob, message " + i);
            SessionRecord.Encrypted enc = aliceRecord.encrypt(c, toBob, p, e);
            aliceRecord = enc.updated();
            fromAlice.add(enc.envelope());
            messages.add(message(c, toBob, p, enc.envelope()));
        }
        PreKeyLookup bobKeys = new PreKeyLookup() {
            @Override
            public Optional<SignedPreKey> signedPreKey(int id) {
                return id == spk.id() ? Optional.of(spk) : Optional.empty();
            }

            @Override
            public Optional<OneTimePreKey> oneTimePreKey(int id) {
                return id == opk.id() ? Optional.of(opk) : Optional.empty();
            }
        };
        Optional<SessionRecord> bobRecord = Optional.empty();
        for (int i = 0; i < 3; i++) {
            SessionCipher.Decrypted d = SessionCipher.decrypt(bob, bobRecord, bobKeys,
                    new Conversation("alice", "phone", "bob", "a" + (i + 1)), toBob, fromAlice.get(i));
            bobRecord = Optional.of(d.updated());
        }
        Target toAlice = new Target("alice", "phone");
        SessionRecord b = bobRecord.orElseThrow();
        for (int i = 1; i <= 3; i++) {
            Conversation c = new Conversation("bob", "laptop", "alice", "b" + i);
            byte[] p = text("Hi Alice, reply " + i);
            SessionRecord.Encrypted enc = b.encrypt(c, toAlice, p, e);
            b = enc.updated();
            messages.add(message(c, toAlice, p, enc.envelope()));
        }
        m.put("messages", messages);
        return m;
    }

    /** SK of E2E.md section 5, computed from the parts, replaying the entropy up to EK_A. */
    static byte[] x3dhSk(DeviceIdentity alice, RemoteBundle bob, Entropy replay, SignedPreKey spk, OneTimePreKey opk) {
        replay.bytes(6 * 32);
        KeyPair ek = X25519.generate(replay);
        byte[] ff = new byte[32];
        java.util.Arrays.fill(ff, (byte) 0xff);
        byte[] ikm = Bytes.concat(ff, X25519.agree(alice.dhKeys().privateKey(), spk.keys().publicKey()),
                X25519.agree(ek.privateKey(), bob.identityDhKey()), X25519.agree(ek.privateKey(), spk.keys().publicKey()),
                X25519.agree(ek.privateKey(), opk.keys().publicKey()));
        return Hkdf.derive(new byte[32], ikm, Bytes.ascii("Courier-X3DH-v1"), 32);
    }

    private static Map<String, Object> safetyNumber() {
        byte[] seed = seed("courier vectors: safety number");
        Entropy e = Entropy.deterministic(seed);
        byte[] a1 = Ed25519.generate(e).publicKey();
        byte[] a2 = Ed25519.generate(e).publicKey();
        byte[] b1 = Ed25519.generate(e).publicKey();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seed", hex(seed));
        m.put("entropy_order", List.of("alice device 1 IKs seed (32)", "alice device 2 IKs seed (32)", "bob IKs seed (32)"));
        m.put("user_a", "alice");
        m.put("identity_keys_a", List.of(hex(a1), hex(a2)));
        m.put("user_b", "bob");
        m.put("identity_keys_b", List.of(hex(b1)));
        m.put("fingerprint_a", hex(SafetyNumber.fingerprint("alice", List.of(a1, a2))));
        m.put("fingerprint_b", hex(SafetyNumber.fingerprint("bob", List.of(b1))));
        m.put("safety_number", SafetyNumber.of("alice", List.of(a1, a2), "bob", List.of(b1)));
        return m;
    }

    static byte[] mediaFile() {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 7; i++) {
            s.append("Courier media vector line ").append(i).append(".\n");
        }
        return s.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static Map<String, Object> media() {
        byte[] seed = seed("courier vectors: media");
        try {
            Path dir = Files.createTempDirectory("courier-vectors");
            try {
                Path file = Files.write(dir.resolve("file"), mediaFile());
                Path blob = dir.resolve("blob");
                MediaKeyInfo info = MediaCipher.encrypt(file, blob, "notes.txt", "text/plain", Entropy.deterministic(seed));
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("seed", hex(seed));
                m.put("entropy_order", List.of("media key: aesKey (32) then macKey (32)", "iv (16)"));
                m.put("file", hex(mediaFile()));
                m.put("media", mediaInfo(info));
                m.put("blob", hex(Files.readAllBytes(blob)));
                return m;
            } finally {
                try (var files = Files.list(dir)) {
                    for (Path p : files.toList()) {
                        Files.delete(p);
                    }
                }
                Files.delete(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** JSON text of a vectors map (strings, longs, lists, maps, null), two-space indented. */
    static String toJson(Object o, String indent) {
        if (o == null) {
            return "null";
        }
        if (o instanceof String s) {
            StringBuilder b = new StringBuilder("\"");
            for (char c : s.toCharArray()) {
                switch (c) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    case '\n' -> b.append("\\n");
                    default -> {
                        if (c < 0x20 || c > 0x7e) {
                            b.append(String.format("\\u%04x", (int) c));
                        } else {
                            b.append(c);
                        }
                    }
                }
            }
            return b.append('"').toString();
        }
        if (o instanceof Long || o instanceof Integer) {
            return o.toString();
        }
        String inner = indent + "  ";
        if (o instanceof List<?> l) {
            if (l.isEmpty()) {
                return "[]";
            }
            StringBuilder b = new StringBuilder("[\n");
            for (int i = 0; i < l.size(); i++) {
                b.append(inner).append(toJson(l.get(i), inner)).append(i + 1 < l.size() ? ",\n" : "\n");
            }
            return b.append(indent).append(']').toString();
        }
        Map<?, ?> m = (Map<?, ?>) o;
        StringBuilder b = new StringBuilder("{\n");
        int i = 0;
        for (Map.Entry<?, ?> e : m.entrySet()) {
            b.append(inner).append(toJson(e.getKey(), inner)).append(": ").append(toJson(e.getValue(), inner))
                    .append(++i < m.size() ? ",\n" : "\n");
        }
        return b.append(indent).append('}').toString();
    }
}
