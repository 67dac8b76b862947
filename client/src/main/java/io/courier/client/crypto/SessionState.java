package io.courier.client.crypto;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One Double Ratchet session with a remote device (docs/E2E.md sections 5 and 6). Mutable, but
 * only ever changed on a {@link #copy()}: {@link SessionRecord} hands out new records and keeps
 * old ones untouched, so a failed decryption changes nothing the caller holds.
 */
final class SessionState {
    static final int MAX_SKIP = 1000;
    static final int MAX_STORED_SKIPPED = 2000;
    /**
     * How many earlier receiving chains are remembered, by the first 8 bytes of their ratchet key
     * (16 KB at most), to call their replays duplicates rather than bad ciphertexts.
     */
    static final int MAX_PREVIOUS_CHAINS = 2000;

    private static final byte[] ZERO32 = new byte[32];
    private static final byte[] RATCHET_INFO = Bytes.ascii("Courier-Ratchet-v1");
    private static final byte[] MESSAGE_INFO = Bytes.ascii("Courier-Message-v1");
    private static final byte[] X3DH_INFO = Bytes.ascii("Courier-X3DH-v1");

    byte[] remoteIdentityKey;
    byte[] remoteIdentityDhKey;
    /** X3DH's ADx: IKs_A.pub || IKd_A.pub || IKs_B.pub || IKd_B.pub. */
    byte[] associatedData;
    /** EK_A.pub, the initiator's ephemeral key, which names the session. */
    byte[] baseKey;
    byte[] rootKey;
    KeyPair sending;
    byte[] remoteRatchet;
    byte[] sendChain;
    long sendCount;
    byte[] receiveChain;
    long receiveCount;
    long previousCount;
    /** The initiator's x3dh header part, sent until the first message in this session arrives. */
    byte[] pendingX3dh;
    LinkedHashMap<SkippedId, byte[]> skipped = new LinkedHashMap<>();
    ArrayDeque<Long> previousRemoteRatchets = new ArrayDeque<>();

    record SkippedId(String ratchetKey, long number) {
    }

    SessionState copy() {
        SessionState s = new SessionState();
        s.remoteIdentityKey = remoteIdentityKey;
        s.remoteIdentityDhKey = remoteIdentityDhKey;
        s.associatedData = associatedData;
        s.baseKey = baseKey;
        s.rootKey = rootKey;
        s.sending = sending;
        s.remoteRatchet = remoteRatchet;
        s.sendChain = sendChain;
        s.sendCount = sendCount;
        s.receiveChain = receiveChain;
        s.receiveCount = receiveCount;
        s.previousCount = previousCount;
        s.pendingX3dh = pendingX3dh;
        // Byte arrays are never changed in place, so sharing them between copies is safe.
        s.skipped = new LinkedHashMap<>(skipped);
        s.previousRemoteRatchets = new ArrayDeque<>(previousRemoteRatchets);
        return s;
    }

    /** Alice's side of X3DH, then her first sending chain; 64 bytes of entropy (EK_A, then DHs). */
    static SessionState initiate(DeviceIdentity ours, RemoteBundle theirs, Entropy entropy) {
        theirs.verify();
        KeyPair ek = X25519.generate(entropy);
        byte[] spk = theirs.signedPreKey();
        byte[] ikm = Bytes.concat(filler(),
                X25519.agree(ours.dhKeys().privateKey(), spk),
                X25519.agree(ek.privateKey(), theirs.identityDhKey()),
                X25519.agree(ek.privateKey(), spk),
                theirs.oneTimePreKey() == null ? new byte[0] : X25519.agree(ek.privateKey(), theirs.oneTimePreKey()));
        SessionState s = new SessionState();
        s.remoteIdentityKey = theirs.identityKey().clone();
        s.remoteIdentityDhKey = theirs.identityDhKey().clone();
        s.associatedData = Bytes.concat(ours.identityKey(), ours.identityDhKey(), theirs.identityKey(), theirs.identityDhKey());
        s.baseKey = ek.publicKey();
        Bytes.Writer x3dh = new Bytes.Writer().raw(ours.identityKey()).raw(ours.identityDhKey())
                .raw(ours.identityDhSignature()).raw(ek.publicKey()).be32(theirs.signedPreKeyId());
        if (theirs.oneTimePreKeyId() != null) {
            x3dh.be32(theirs.oneTimePreKeyId());
        }
        s.pendingX3dh = x3dh.toBytes();
        byte[] sk = Hkdf.derive(ZERO32, ikm, X3DH_INFO, 32);
        s.sending = X25519.generate(entropy);
        s.remoteRatchet = spk.clone();
        byte[][] rk = kdfRk(sk, X25519.agree(s.sending.privateKey(), spk));
        s.rootKey = rk[0];
        s.sendChain = rk[1];
        return s;
    }

    /** Bob's side of X3DH from an x3dh header; his receiving chain starts with the message. */
    static SessionState respond(DeviceIdentity ours, SignalHeader h, SignedPreKey spk, OneTimePreKey opk) {
        byte[] ikm = Bytes.concat(filler(),
                X25519.agree(spk.keys().privateKey(), h.identityDhKey),
                X25519.agree(ours.dhKeys().privateKey(), h.baseKey),
                X25519.agree(spk.keys().privateKey(), h.baseKey),
                opk == null ? new byte[0] : X25519.agree(opk.keys().privateKey(), h.baseKey));
        SessionState s = new SessionState();
        s.remoteIdentityKey = h.identityKey;
        s.remoteIdentityDhKey = h.identityDhKey;
        s.associatedData = Bytes.concat(h.identityKey, h.identityDhKey, ours.identityKey(), ours.identityDhKey());
        s.baseKey = h.baseKey;
        s.rootKey = Hkdf.derive(ZERO32, ikm, X3DH_INFO, 32);
        s.sending = spk.keys();
        return s;
    }

    private static byte[] filler() {
        byte[] f = new byte[32];
        Arrays.fill(f, (byte) 0xff);
        return f;
    }

    /** Encrypts in this (copied) state; a new sending chain first, when one is due, takes 32 bytes of entropy. */
    byte[] encrypt(Conversation c, Target t, byte[] plaintext, Entropy entropy) {
        if (sendChain == null) {
            if (remoteRatchet == null) {
                throw new E2eException(Reason.NO_SESSION, "this session has no message from the other device to answer yet");
            }
            sending = X25519.generate(entropy);
            byte[][] rk = kdfRk(rootKey, X25519.agree(sending.privateKey(), remoteRatchet));
            rootKey = rk[0];
            sendChain = rk[1];
        }
        Bytes.Writer w = new Bytes.Writer().u8(1).u8(2);
        if (pendingX3dh != null) {
            w.u8(SignalHeader.FLAG_X3DH | (pendingX3dh.length == 32 + 32 + 64 + 32 + 4 + 4 ? SignalHeader.FLAG_OPK : 0));
            w.raw(pendingX3dh);
        } else {
            w.u8(0);
        }
        w.raw(sending.publicKey()).be32((int) previousCount).be32((int) sendCount);
        byte[] header = w.toBytes();
        byte[][] ck = kdfCk(sendChain);
        sendChain = ck[0];
        sendCount++;
        byte[] keys = messageKeys(ck[1]);
        byte[] ct = Aead.seal(Arrays.copyOf(keys, 32), Arrays.copyOfRange(keys, 32, 44), plaintext, ad(header, c, t));
        return Bytes.concat(header, ct);
    }

    /** Decrypts in this (copied) state, which the caller keeps only if this returns. */
    byte[] decrypt(SignalHeader h, Conversation c, Target t) {
        SkippedId id = new SkippedId(Bytes.hex(h.ratchetKey), h.number);
        byte[] mk = skipped.remove(id);
        if (mk == null) {
            if (Arrays.equals(h.ratchetKey, remoteRatchet) && receiveChain != null) {
                if (h.number < receiveCount) {
                    throw new E2eException(Reason.DUPLICATE_OR_EXPIRED, "message " + h.number
                            + " of this chain was decrypted already or its key was dropped");
                }
            } else if (isPreviousChain(h.ratchetKey)) {
                throw new E2eException(Reason.DUPLICATE_OR_EXPIRED, "message " + h.number
                        + " of an earlier chain was decrypted already or its key was dropped");
            } else {
                ratchet(h);
            }
            skipTo(h.number);
            byte[][] ck = kdfCk(receiveChain);
            receiveChain = ck[0];
            receiveCount++;
            mk = ck[1];
        }
        byte[] keys = messageKeys(mk);
        byte[] plaintext = Aead.open(Arrays.copyOf(keys, 32), Arrays.copyOfRange(keys, 32, 44), h.ciphertext,
                ad(h.headerBytes, c, t));
        // The other device has this session now: the x3dh part is no longer needed.
        pendingX3dh = null;
        return plaintext;
    }

    /** The receiving half of DHRatchet; the sending half waits for the next encrypt (E2E.md section 6). */
    private void ratchet(SignalHeader h) {
        if (receiveChain != null) {
            skipTo(h.previousCount);
            previousRemoteRatchets.addFirst(prefix(remoteRatchet));
            while (previousRemoteRatchets.size() > MAX_PREVIOUS_CHAINS) {
                previousRemoteRatchets.removeLast();
            }
        }
        previousCount = sendCount;
        sendCount = 0;
        sendChain = null;
        remoteRatchet = h.ratchetKey;
        receiveCount = 0;
        byte[][] rk = kdfRk(rootKey, X25519.agree(sending.privateKey(), remoteRatchet));
        rootKey = rk[0];
        receiveChain = rk[1];
    }

    private boolean isPreviousChain(byte[] ratchetKey) {
        return previousRemoteRatchets.contains(prefix(ratchetKey));
    }

    private static long prefix(byte[] ratchetKey) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (ratchetKey[i] & 0xff);
        }
        return v;
    }

    private void skipTo(long until) {
        if (until <= receiveCount) {
            return;
        }
        if (until - receiveCount > MAX_SKIP) {
            throw new E2eException(Reason.TOO_FAR_AHEAD, (until - receiveCount) + " messages skipped in one chain, at most "
                    + MAX_SKIP + " may be");
        }
        String chain = Bytes.hex(remoteRatchet);
        while (receiveCount < until) {
            byte[][] ck = kdfCk(receiveChain);
            receiveChain = ck[0];
            skipped.put(new SkippedId(chain, receiveCount), ck[1]);
            receiveCount++;
        }
        Iterator<Map.Entry<SkippedId, byte[]>> oldest = skipped.entrySet().iterator();
        while (skipped.size() > MAX_STORED_SKIPPED) {
            oldest.next();
            oldest.remove();
        }
    }

    private byte[] ad(byte[] header, Conversation c, Target t) {
        return Bytes.concat(header, associatedData, c.encode(), t.encode());
    }

    /** KDF_RK: HKDF(salt = rk, ikm = dhOut, info = "Courier-Ratchet-v1", 64) -> (rk', ck). */
    static byte[][] kdfRk(byte[] rk, byte[] dhOut) {
        byte[] okm = Hkdf.derive(rk, dhOut, RATCHET_INFO, 64);
        return new byte[][] {Arrays.copyOf(okm, 32), Arrays.copyOfRange(okm, 32, 64)};
    }

    /** KDF_CK: ck' = HMAC(ck, 02), mk = HMAC(ck, 01). */
    static byte[][] kdfCk(byte[] ck) {
        return new byte[][] {Hmac.sha256(ck, new byte[] {2}), Hmac.sha256(ck, new byte[] {1})};
    }

    /** HKDF(salt = 32 zero bytes, ikm = mk, info = "Courier-Message-v1", 44) -> key (32) || nonce (12). */
    static byte[] messageKeys(byte[] mk) {
        return Hkdf.derive(ZERO32, mk, MESSAGE_INFO, 44);
    }

    void write(Bytes.Writer w) {
        int flags = (remoteRatchet != null ? 1 : 0) | (sendChain != null ? 2 : 0) | (receiveChain != null ? 4 : 0)
                | (pendingX3dh != null ? 8 : 0);
        w.u8(flags).raw(remoteIdentityKey).raw(remoteIdentityDhKey).raw(associatedData).raw(baseKey).raw(rootKey)
                .raw(sending.publicKey()).raw(sending.privateKey());
        if (remoteRatchet != null) {
            w.raw(remoteRatchet);
        }
        if (sendChain != null) {
            w.raw(sendChain);
        }
        w.be32((int) sendCount);
        if (receiveChain != null) {
            w.raw(receiveChain);
        }
        w.be32((int) receiveCount).be32((int) previousCount);
        if (pendingX3dh != null) {
            w.blob(pendingX3dh);
        }
        w.be32(previousRemoteRatchets.size());
        for (long k : previousRemoteRatchets) {
            w.be64(k);
        }
        w.be32(skipped.size());
        for (Map.Entry<SkippedId, byte[]> e : skipped.entrySet()) {
            w.raw(java.util.HexFormat.of().parseHex(e.getKey().ratchetKey())).be32((int) e.getKey().number()).raw(e.getValue());
        }
    }

    static SessionState read(Bytes.Reader r) {
        SessionState s = new SessionState();
        int flags = r.u8();
        if ((flags & ~15) != 0) {
            throw new E2eException(Reason.MALFORMED, "session state flags " + flags + " are not valid");
        }
        s.remoteIdentityKey = r.raw(32);
        s.remoteIdentityDhKey = r.raw(32);
        s.associatedData = r.raw(128);
        s.baseKey = r.raw(32);
        s.rootKey = r.raw(32);
        byte[] pub = r.raw(32);
        s.sending = new KeyPair(pub, r.raw(32));
        s.remoteRatchet = (flags & 1) != 0 ? r.raw(32) : null;
        s.sendChain = (flags & 2) != 0 ? r.raw(32) : null;
        s.sendCount = r.be32() & 0xffffffffL;
        s.receiveChain = (flags & 4) != 0 ? r.raw(32) : null;
        s.receiveCount = r.be32() & 0xffffffffL;
        s.previousCount = r.be32() & 0xffffffffL;
        s.pendingX3dh = (flags & 8) != 0 ? r.blob() : null;
        int previous = r.be32();
        if (previous < 0 || previous > MAX_PREVIOUS_CHAINS) {
            throw new E2eException(Reason.MALFORMED, "a session state remembers " + previous + " earlier chains");
        }
        for (int i = 0; i < previous; i++) {
            s.previousRemoteRatchets.addLast(r.be64());
        }
        int skippedCount = r.be32();
        if (skippedCount < 0 || skippedCount > MAX_STORED_SKIPPED) {
            throw new E2eException(Reason.MALFORMED, "a session state holds " + skippedCount + " skipped keys");
        }
        for (int i = 0; i < skippedCount; i++) {
            String key = Bytes.hex(r.raw(32));
            long n = r.be32() & 0xffffffffL;
            s.skipped.put(new SkippedId(key, n), r.raw(32));
        }
        return s;
    }
}
