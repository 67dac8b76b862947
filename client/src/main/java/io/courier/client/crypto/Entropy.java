package io.courier.client.crypto;

import java.security.MessageDigest;
import java.security.SecureRandom;

/**
 * Where every random byte of this package comes from: key pairs, nonces, media keys. Injectable so
 * that tests and golden vectors are deterministic; production code uses {@link #secure()}.
 */
public interface Entropy {

    /** Fills {@code into} with random bytes. */
    void nextBytes(byte[] into);

    /** {@code n} random bytes. */
    default byte[] bytes(int n) {
        byte[] b = new byte[n];
        nextBytes(b);
        return b;
    }

    /** The platform's cryptographic generator ({@link SecureRandom}). */
    static Entropy secure() {
        SecureRandom random = new SecureRandom();
        return random::nextBytes;
    }

    /**
     * A deterministic stream for tests and golden vectors only, never for real keys: the
     * concatenation of {@code SHA256(seed || be64(i))} for i = 0, 1, 2, ..., handed out in order
     * (a request may span blocks; nothing is skipped). The browser implementation reproduces it
     * from the seed in vectors.json.
     */
    static Entropy deterministic(byte[] seed) {
        byte[] s = seed.clone();
        return new Entropy() {
            private long counter;
            private byte[] block = new byte[0];
            private int used;

            @Override
            public synchronized void nextBytes(byte[] into) {
                for (int i = 0; i < into.length; i++) {
                    if (used == block.length) {
                        MessageDigest sha = Primitives.sha256();
                        sha.update(s);
                        sha.update(Bytes.be64(counter++));
                        block = sha.digest();
                        used = 0;
                    }
                    into[i] = block[used++];
                }
            }
        };
    }
}
