package io.courier.client.crypto;

import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;

/** RFC 5869 HKDF with SHA-256, from Bouncy Castle (the JDK 17 has no HKDF). */
public final class Hkdf {
    private Hkdf() {
    }

    /**
     * {@code length} bytes of HKDF-Expand(HKDF-Extract(salt, ikm), info). An empty salt is the
     * RFC's default of 32 zero bytes.
     */
    public static byte[] derive(byte[] salt, byte[] ikm, byte[] info, int length) {
        if (length < 0 || length > 255 * 32) {
            throw new IllegalArgumentException("HKDF-SHA-256 gives 0 to 8160 bytes, not " + length);
        }
        HKDFBytesGenerator g = new HKDFBytesGenerator(new SHA256Digest());
        g.init(new HKDFParameters(ikm, salt == null || salt.length == 0 ? null : salt, info));
        byte[] out = new byte[length];
        g.generateBytes(out, 0, length);
        return out;
    }
}
