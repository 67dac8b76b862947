package io.courier.client.crypto;

import java.util.Arrays;

/**
 * A parsed type-02 envelope (docs/E2E.md section 4.2):
 * <pre>
 * 01 02 || flags (1)
 *       [ x3dh: IKs_A.pub (32) || IKd_A.pub (32) || identityDhSignature_A (64) || EK_A.pub (32)
 *               || be32(spkId) || [be32(opkId)] ]
 *       || dh (32) || be32(pn) || be32(n) || ciphertext (with its 16-byte tag)
 * flags bit 0: x3dh part present; bit 1: opkId present (only with bit 0)
 * </pre>
 */
final class SignalHeader {
    static final int FLAG_X3DH = 1;
    static final int FLAG_OPK = 2;

    byte[] identityKey;
    byte[] identityDhKey;
    byte[] identityDhSignature;
    byte[] baseKey;
    int signedPreKeyId;
    Integer oneTimePreKeyId;
    byte[] ratchetKey;
    long previousCount;
    long number;
    /** The envelope up to the end of the header: the start of the associated data. */
    byte[] headerBytes;
    byte[] ciphertext;

    boolean hasX3dh() {
        return baseKey != null;
    }

    static SignalHeader parse(byte[] envelope) {
        if (Envelope.type(envelope) != Envelope.Type.SIGNAL) {
            throw new E2eException(Reason.MALFORMED, "not a Signal-mode envelope");
        }
        Bytes.Reader r = new Bytes.Reader(envelope, 2, "a Signal envelope");
        SignalHeader h = new SignalHeader();
        int flags = r.u8();
        if ((flags & ~(FLAG_X3DH | FLAG_OPK)) != 0 || flags == FLAG_OPK) {
            throw new E2eException(Reason.MALFORMED, "Signal envelope flags " + flags + " are not valid");
        }
        if ((flags & FLAG_X3DH) != 0) {
            h.identityKey = r.raw(32);
            h.identityDhKey = r.raw(32);
            h.identityDhSignature = r.raw(64);
            h.baseKey = r.raw(32);
            h.signedPreKeyId = r.be32();
            if ((flags & FLAG_OPK) != 0) {
                h.oneTimePreKeyId = r.be32();
            }
        }
        h.ratchetKey = r.raw(32);
        h.previousCount = r.be32() & 0xffffffffL;
        h.number = r.be32() & 0xffffffffL;
        h.headerBytes = Arrays.copyOf(envelope, r.position());
        if (r.remaining() < 16) {
            throw new E2eException(Reason.MALFORMED, "a Signal envelope's ciphertext has at least its 16-byte tag");
        }
        h.ciphertext = r.rest();
        return h;
    }
}
