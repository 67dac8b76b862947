package io.courier.client.crypto;

import static io.courier.client.crypto.Reasons.assertFails;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** X3DH and the Double Ratchet between real devices: delivery in every order, restarts, and every failure. */
class SessionCipherTest {
    private final Entropy entropy = Entropy.secure();
    private final Device alice = new Device("alice", "phone", entropy);
    private final Device bob = new Device("bob", "laptop", entropy);

    @Test
    void shouldExchangeManyMessagesBothWaysInBursts() {
        Random random = new Random(42);
        for (int round = 0; round < 60; round++) {
            Device from = round % 2 == 0 ? alice : bob;
            Device to = from == alice ? bob : alice;
            int burst = 1 + random.nextInt(5);
            for (int i = 0; i < burst; i++) {
                String text = "round " + round + " message " + i;
                assertThat(to.receive(from, from.send(to, text))).isEqualTo(text);
            }
        }
        assertThat(alice.sessions.get(bob.address()).sessionCount()).isEqualTo(1);
        assertThat(bob.sessions.get(alice.address()).sessionCount()).isEqualTo(1);
        assertThat(bob.sessions.get(alice.address()).remoteIdentityKey()).isEqualTo(alice.identity.identityKey());
    }

    @Test
    void shouldDeliverAThousandMessagesEachWayReorderedResentAndAcrossRestartsExactlyOnce() {
        Random random = new Random(2026);
        List<Device.Sent> toBob = new ArrayList<>();
        List<Device.Sent> toAlice = new ArrayList<>();
        java.util.Set<String> delivered = new java.util.HashSet<>();
        int sentByAlice = 0;
        int sentByBob = 0;
        int step = 0;
        while (sentByAlice < 1000 || sentByBob < 1000 || !toBob.isEmpty() || !toAlice.isEmpty()) {
            step++;
            int action = random.nextInt(4);
            if (action == 0 && sentByAlice < 1000) {
                toBob.add(alice.send(bob, "a" + sentByAlice++));
            } else if (action == 1 && sentByBob < 1000) {
                toAlice.add(bob.send(alice, "b" + sentByBob++));
            } else {
                List<Device.Sent> queue = action == 2 ? toBob : toAlice;
                if (queue.isEmpty()) {
                    continue;
                }
                Device from = queue == toBob ? alice : bob;
                Device to = queue == toBob ? bob : alice;
                // Any of the last 20 in flight: reordering; one in five "lost" stays queued for a resend.
                int i = Math.max(0, queue.size() - 1 - random.nextInt(Math.min(20, queue.size())));
                Device.Sent m = queue.get(i);
                if (random.nextInt(5) == 0) {
                    continue;
                }
                String text = to.receive(from, m);
                assertThat(delivered.add(text)).as(text).isTrue();
                queue.remove(i);
                if (random.nextInt(10) == 0) {
                    // A resend of something already delivered is refused, never delivered twice.
                    assertFails(Reason.DUPLICATE_OR_EXPIRED, () -> to.receive(from, m));
                }
            }
            if (step % 500 == 0) {
                for (Device d : List.of(alice, bob)) {
                    d.sessions.replaceAll((k, r) -> SessionRecord.fromBytes(r.toBytes()));
                }
            }
        }
        assertThat(delivered).hasSize(2000);
    }

    @Test
    void shouldDecryptOutOfOrderAndAfterMissedMessagesButNeverTwice() {
        establish();
        List<Device.Sent> sent = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            sent.add(alice.send(bob, "m" + i));
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(7));
        for (int i : order) {
            assertThat(bob.receive(alice, sent.get(i))).isEqualTo("m" + i);
        }
        for (Device.Sent m : sent) {
            assertFails(Reason.DUPLICATE_OR_EXPIRED, () -> bob.receive(alice, m));
        }
        // Missed messages across ratchet turns: their keys wait in the skipped store.
        Device.Sent missedA = alice.send(bob, "missed a");
        Device.Sent seenA = alice.send(bob, "seen a");
        assertThat(bob.receive(alice, seenA)).isEqualTo("seen a");
        assertThat(alice.receive(bob, bob.send(alice, "turn"))).isEqualTo("turn");
        Device.Sent missedB = alice.send(bob, "missed b");
        assertThat(bob.receive(alice, alice.send(bob, "seen b"))).isEqualTo("seen b");
        assertThat(bob.receive(alice, missedB)).isEqualTo("missed b");
        assertThat(bob.receive(alice, missedA)).isEqualTo("missed a");
        assertFails(Reason.DUPLICATE_OR_EXPIRED, () -> bob.receive(alice, missedA));
        assertFails(Reason.DUPLICATE_OR_EXPIRED, () -> bob.receive(alice, seenA));
    }

    @Test
    void shouldBoundTheSkippedKeys() {
        establish();
        List<Device.Sent> first = new ArrayList<>();
        for (int i = 0; i <= 1001; i++) {
            first.add(alice.send(bob, "c1 " + i));
        }
        // 1,001 skipped keys in one chain is one too many; exactly 1,000 is allowed.
        assertFails(Reason.TOO_FAR_AHEAD, () -> bob.receive(alice, first.get(1001)));
        assertThat(bob.receive(alice, first.get(1000))).isEqualTo("c1 1000");
        // Two more chains of 1,000 skipped each: the oldest keys are dropped once 2,000 are stored.
        for (int chain = 2; chain <= 3; chain++) {
            assertThat(alice.receive(bob, bob.send(alice, "turn " + chain))).isEqualTo("turn " + chain);
            Device.Sent last = null;
            for (int i = 0; i <= 1000; i++) {
                last = alice.send(bob, "c" + chain + " " + i);
            }
            assertThat(bob.receive(alice, last)).isEqualTo("c" + chain + " 1000");
        }
        assertFails(Reason.DUPLICATE_OR_EXPIRED, () -> bob.receive(alice, first.get(0)));
        assertFails(Reason.DUPLICATE_OR_EXPIRED, () -> bob.receive(alice, first.get(999)));
        assertThat(bob.sessions.get(alice.address()).toBytes().length).isLessThan(2001 * 100);
    }

    @Test
    void shouldSendTheX3dhHeaderUntilAReplyAndLetTheResponderStartFromAnyOfThem() {
        List<Device.Sent> sent = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            sent.add(alice.send(bob, "hello " + i));
            assertThat(sent.get(i).envelope()[2] & 1).isEqualTo(1);
            assertThat(alice.sessions.get(bob.address()).awaitingReply()).isTrue();
        }
        assertThat(bob.receive(alice, sent.get(2))).isEqualTo("hello 2");
        assertThat(bob.oneTimePreKeys).doesNotContainKey(1);
        // The others arrive later and, though their one-time pre-key is gone, decrypt in the same session.
        assertThat(bob.receive(alice, sent.get(0))).isEqualTo("hello 0");
        assertThat(bob.receive(alice, sent.get(1))).isEqualTo("hello 1");
        assertThat(bob.sessions.get(alice.address()).sessionCount()).isEqualTo(1);
        assertThat(alice.receive(bob, bob.send(alice, "hi"))).isEqualTo("hi");
        assertThat(alice.sessions.get(bob.address()).awaitingReply()).isFalse();
        Device.Sent after = alice.send(bob, "no header");
        assertThat(after.envelope()[2]).isEqualTo((byte) 0);
        assertThat(bob.receive(alice, after)).isEqualTo("no header");
    }

    @Test
    void shouldConvergeWhenBothSidesStartAtOnce() {
        Device.Sent fromAlice = alice.send(bob, "a1");
        Device.Sent fromBob = bob.send(alice, "b1");
        assertThat(bob.receive(alice, fromAlice)).isEqualTo("a1");
        assertThat(alice.receive(bob, fromBob)).isEqualTo("b1");
        assertThat(alice.sessions.get(bob.address()).sessionCount()).isEqualTo(2);
        for (int i = 0; i < 5; i++) {
            assertThat(bob.receive(alice, alice.send(bob, "a" + i))).isEqualTo("a" + i);
            assertThat(alice.receive(bob, bob.send(alice, "b" + i))).isEqualTo("b" + i);
        }
        Device.Sent a = alice.send(bob, "settled");
        Device.Sent b = bob.send(alice, "settled too");
        assertThat(a.envelope()[2]).isEqualTo((byte) 0);
        assertThat(b.envelope()[2]).isEqualTo((byte) 0);
        assertThat(bob.receive(alice, a)).isEqualTo("settled");
        assertThat(alice.receive(bob, b)).isEqualTo("settled too");
        assertThat(alice.sessions.get(bob.address()).sessionCount()).isEqualTo(2);
        assertThat(bob.sessions.get(alice.address()).sessionCount()).isEqualTo(2);
    }

    @Test
    void shouldSurviveARestartMidConversation() {
        establish();
        Device.Sent inFlight = alice.send(bob, "in flight");
        for (int i = 0; i < 3; i++) {
            assertThat(bob.receive(alice, alice.send(bob, "x" + i))).isEqualTo("x" + i);
        }
        for (Device d : List.of(alice, bob)) {
            d.sessions.replaceAll((k, r) -> SessionRecord.fromBytes(r.toBytes()));
        }
        SessionRecord reread = bob.sessions.get(alice.address());
        assertThat(SessionRecord.fromBytes(reread.toBytes()).toBytes()).isEqualTo(reread.toBytes());
        assertThat(bob.receive(alice, inFlight)).isEqualTo("in flight");
        assertThat(alice.receive(bob, bob.send(alice, "after restart"))).isEqualTo("after restart");
        assertThat(bob.receive(alice, alice.send(bob, "and back"))).isEqualTo("and back");
    }

    @Test
    void shouldNotDecryptEarlierMessagesFromACapturedRecord() {
        List<Device.Sent> sent = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            sent.add(alice.send(bob, "early " + i));
            assertThat(bob.receive(alice, sent.get(i))).isEqualTo("early " + i);
            Device.Sent reply = bob.send(alice, "reply " + i);
            assertThat(alice.receive(bob, reply)).isEqualTo("reply " + i);
        }
        byte[] captured = bob.sessions.get(alice.address()).toBytes();
        for (Device.Sent m : sent) {
            SessionRecord stolen = SessionRecord.fromBytes(captured);
            assertFails(Reason.DUPLICATE_OR_EXPIRED, () -> SessionCipher.decrypt(bob.identity, Optional.of(stolen), bob,
                    new Conversation("alice", "phone", "bob", m.clientMessageId()), new Target("bob", "laptop"), m.envelope()));
        }
        // Even with the identity and every pre-key, the first message's one-time pre-key is gone.
        assertFails(Reason.ONE_TIME_PRE_KEY_REUSED, () -> SessionCipher.decrypt(bob.identity, Optional.empty(), bob,
                new Conversation("alice", "phone", "bob", sent.get(0).clientMessageId()), new Target("bob", "laptop"),
                sent.get(0).envelope()));
    }

    @Test
    void shouldRefuseEveryFlippedBitAndLeaveTheRecordUnchanged() {
        establish();
        assertThat(bob.receive(alice, alice.send(bob, "current chain"))).isEqualTo("current chain");
        Device.Sent m = alice.send(bob, "tamper with me");
        SessionRecord before = bob.sessions.get(alice.address());
        byte[] beforeBytes = before.toBytes();
        byte[] env = m.envelope();
        assertThat(env[2]).isEqualTo((byte) 0);
        int dhEnd = 3 + 32;
        int pnEnd = dhEnd + 4;
        int nEnd = pnEnd + 4;
        for (int bit = 0; bit < env.length * 8; bit++) {
            byte[] t = env.clone();
            int at = bit / 8;
            t[at] ^= (byte) (1 << (bit % 8));
            Reason expected;
            if (at <= 1) {
                expected = Reason.UNSUPPORTED_VERSION;
            } else if (at == 2) {
                // Flag bit 0 reads the rest as an x3dh header, whose signature then fails (or which runs out).
                expected = bit % 8 == 0 ? (env.length - 3 >= 164 + 40 + 16 ? Reason.FORGED_PRE_KEY : Reason.MALFORMED)
                        : Reason.MALFORMED;
            } else if (at >= pnEnd && at < nEnd) {
                long n = readBe32(t, pnEnd);
                // This message is number 1 and number 0 was decrypted: lower is a duplicate, far higher too far.
                expected = n < 1 ? Reason.DUPLICATE_OR_EXPIRED : n - 1 > 1000 ? Reason.TOO_FAR_AHEAD : Reason.BAD_CIPHERTEXT;
            } else {
                expected = Reason.BAD_CIPHERTEXT;
            }
            Reason want = expected;
            assertFails(want, () -> bob.decrypt(alice, m.clientMessageId(), t));
        }
        assertThat(bob.sessions.get(alice.address())).isSameAs(before);
        assertThat(before.toBytes()).isEqualTo(beforeBytes);
        assertThat(bob.receive(alice, m)).isEqualTo("tamper with me");
    }

    @Test
    void shouldRefuseAnotherConversationMessageIdOrTarget() {
        establish();
        Device.Sent m = alice.send(bob, "bound");
        byte[] env = m.envelope();
        Target bobs = new Target("bob", "laptop");
        for (Conversation c : List.of(new Conversation("alice", "phone", "carol", m.clientMessageId()),
                new Conversation("alice", "tablet", "bob", m.clientMessageId()),
                new Conversation("alice", "phone", "bob", "another id"))) {
            assertFails(Reason.BAD_CIPHERTEXT, () -> SessionCipher.decrypt(bob.identity,
                    Optional.of(bob.sessions.get(alice.address())), bob, c, bobs, env));
        }
        assertFails(Reason.BAD_CIPHERTEXT, () -> SessionCipher.decrypt(bob.identity,
                Optional.of(bob.sessions.get(alice.address())), bob,
                new Conversation("alice", "phone", "bob", m.clientMessageId()), new Target("bob", "phone"), env));
        assertThat(bob.receive(alice, m)).isEqualTo("bound");
    }

    @Test
    void shouldRefuseForgedBundlesAndForgedHeaders() {
        RemoteBundle good = bob.bundle();
        byte[] badSpkSig = good.signedPreKeySignature();
        badSpkSig[0] ^= 1;
        RemoteBundle forgedSpk = new RemoteBundle("bob", "laptop", good.identityKey(), good.identityDhKey(),
                good.identityDhSignature(), good.signedPreKeyId(), good.signedPreKey(), badSpkSig,
                good.oneTimePreKeyId(), good.oneTimePreKey());
        assertFails(Reason.FORGED_PRE_KEY, () -> SessionRecord.initiate(alice.identity, forgedSpk, entropy));
        // A signed pre-key signed by another identity key than the bundle's.
        KeyPair mallorySpk = X25519.generate(entropy);
        RemoteBundle swappedSpk = new RemoteBundle("bob", "laptop", good.identityKey(), good.identityDhKey(),
                good.identityDhSignature(), 9, mallorySpk.publicKey(),
                Ed25519.sign(Ed25519.generate(entropy).privateKey(), mallorySpk.publicKey()), null, null);
        assertFails(Reason.FORGED_PRE_KEY, () -> SessionRecord.initiate(alice.identity, swappedSpk, entropy));
        byte[] badIkdSig = good.identityDhSignature();
        badIkdSig[63] ^= 1;
        RemoteBundle forgedIkd = new RemoteBundle("bob", "laptop", good.identityKey(), good.identityDhKey(), badIkdSig,
                good.signedPreKeyId(), good.signedPreKey(), good.signedPreKeySignature(), null, null);
        assertFails(Reason.FORGED_PRE_KEY, forgedIkd::verify);

        // Mallory pairs Alice's IKs with an IKd of her own: Bob must not take it for Alice.
        DeviceIdentity mallory = DeviceIdentity.generate(entropy);
        SessionRecord fake = SessionRecord.initiate(mallory, bob.bundle(), entropy);
        byte[] env = fake.encrypt(new Conversation("alice", "phone", "bob", "x"), new Target("bob", "laptop"),
                new byte[] {1, 2, 3}, entropy).envelope();
        byte[] forged = env.clone();
        // Put Alice's real IKs in the header; the signature in it is by Mallory's IKs.
        System.arraycopy(alice.identity.identityKey(), 0, forged, 3, 32);
        assertFails(Reason.FORGED_PRE_KEY, () -> bob.decrypt(alice, "x", forged));
    }

    @Test
    void shouldRefuseAReusedOneTimePreKeyAnUnknownSignedPreKeyAndNoSession() {
        RemoteBundle bundle = bob.bundle();
        SessionRecord first = SessionRecord.initiate(alice.identity, bundle, entropy);
        Conversation c = new Conversation("alice", "phone", "bob", "m");
        Target t = new Target("bob", "laptop");
        assertThat(bob.receive(alice, "m", first.encrypt(c, t, new byte[] {1}, entropy).envelope())).isEqualTo("\u0001");
        // A new session from the same fetched bundle names the one-time pre-key Bob erased.
        SessionRecord second = SessionRecord.initiate(alice.identity, bundle, entropy);
        byte[] reuse = second.encrypt(c, t, new byte[] {2}, entropy).envelope();
        assertFails(Reason.ONE_TIME_PRE_KEY_REUSED, () -> bob.decrypt(alice, "m", reuse));

        RemoteBundle old = new RemoteBundle("bob", "laptop", bundle.identityKey(), bundle.identityDhKey(),
                bundle.identityDhSignature(), 99, bundle.signedPreKey(), bundle.signedPreKeySignature(), null, null);
        byte[] unknownSpk = SessionRecord.initiate(alice.identity, old, entropy).encrypt(c, t, new byte[] {3}, entropy).envelope();
        assertFails(Reason.NO_SESSION, () -> bob.decrypt(alice, "m", unknownSpk));

        Device carol = new Device("carol", "desktop", entropy);
        establish();
        Device.Sent plain = alice.send(bob, "to bob");
        assertFails(Reason.NO_SESSION, () -> carol.receive(alice, plain));
    }

    @Test
    void shouldRefuseLowOrderKeys() {
        KeyPair zero = new KeyPair(new byte[32], new byte[32]);
        RemoteBundle good = bob.bundle();
        RemoteBundle lowOrder = new RemoteBundle("bob", "laptop", good.identityKey(), good.identityDhKey(),
                good.identityDhSignature(), 8, zero.publicKey(),
                Ed25519.sign(bob.identity.signingKeys().privateKey(), zero.publicKey()), null, null);
        assertFails(Reason.BAD_KEY, () -> SessionRecord.initiate(alice.identity, lowOrder, entropy));

        establish();
        Device.Sent m = alice.send(bob, "x");
        byte[] t = m.envelope().clone();
        System.arraycopy(new byte[32], 0, t, 3, 32);
        assertFails(Reason.BAD_KEY, () -> bob.decrypt(alice, m.clientMessageId(), t));
    }

    @Test
    void shouldRefuseGarbageUnknownVersionsAndCorruptRecords() {
        establish();
        byte[] env = alice.send(bob, "x").envelope();
        assertFails(Reason.MALFORMED, () -> bob.decrypt(alice, "x", new byte[] {1, 2, 0, 5}));
        assertFails(Reason.MALFORMED, () -> bob.decrypt(alice, "x", new byte[0]));
        assertFails(Reason.MALFORMED, () -> bob.decrypt(alice, "x", java.util.Arrays.copyOf(env, 50)));
        byte[] v = env.clone();
        v[0] = 9;
        assertFails(Reason.UNSUPPORTED_VERSION, () -> bob.decrypt(alice, "x", v));
        byte[] record = bob.sessions.get(alice.address()).toBytes();
        assertFails(Reason.MALFORMED, () -> SessionRecord.fromBytes(java.util.Arrays.copyOf(record, record.length - 1)));
        byte[] rv = record.clone();
        rv[0] = 2;
        assertFails(Reason.UNSUPPORTED_VERSION, () -> SessionRecord.fromBytes(rv));
        byte[] garbage = "\u0001garbage".getBytes(StandardCharsets.UTF_8);
        assertFails(Reason.MALFORMED, () -> SessionRecord.fromBytes(garbage));
    }

    @Test
    void shouldKeepAtMostFiveSessionsPerDevice() {
        for (int i = 0; i < 7; i++) {
            alice.sessions.clear();
            assertThat(bob.receive(alice, alice.send(bob, "reinstall " + i))).isEqualTo("reinstall " + i);
        }
        assertThat(bob.sessions.get(alice.address()).sessionCount()).isEqualTo(SessionRecord.MAX_SESSIONS);
        assertThat(alice.receive(bob, bob.send(alice, "newest"))).isEqualTo("newest");
    }

    @Test
    void shouldRoundTripKeysThroughBytes() {
        DeviceIdentity id = DeviceIdentity.fromBytes(alice.identity.toBytes());
        assertThat(id).isEqualTo(alice.identity);
        assertThat(id.identityDhSignature()).isEqualTo(alice.identity.identityDhSignature());
        assertThat(SignedPreKey.fromBytes(bob.signedPreKey.toBytes())).isEqualTo(bob.signedPreKey);
        OneTimePreKey opk = bob.oneTimePreKeys.firstEntry().getValue();
        assertThat(OneTimePreKey.fromBytes(opk.toBytes())).isEqualTo(opk);
        assertThat(alice.identity.toString()).doesNotContain(Bytes.hex(alice.identity.signingKeys().privateKey()))
                .doesNotContain(Bytes.hex(alice.identity.dhKeys().privateKey()));
        assertThat(opk.toString()).doesNotContain(Bytes.hex(opk.keys().privateKey()));
        assertThat(bob.signedPreKey.toString()).doesNotContain(Bytes.hex(bob.signedPreKey.keys().privateKey()));
    }

    private void establish() {
        assertThat(bob.receive(alice, alice.send(bob, "hello"))).isEqualTo("hello");
        assertThat(alice.receive(bob, bob.send(alice, "hi"))).isEqualTo("hi");
    }

    private static long readBe32(byte[] b, int at) {
        return ((b[at] & 0xffL) << 24) | ((b[at + 1] & 0xffL) << 16) | ((b[at + 2] & 0xffL) << 8) | (b[at + 3] & 0xffL);
    }
}
