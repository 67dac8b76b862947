package io.courier.client.crypto;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;

/** JDK algorithm lookups that every JDK 17 has; their absence is a broken runtime, not bad input. */
final class Primitives {
    private Primitives() {
    }

    static MessageDigest sha256() {
        return digest("SHA-256");
    }

    static MessageDigest sha512() {
        return digest("SHA-512");
    }

    static byte[] sha256(byte[]... parts) {
        MessageDigest d = sha256();
        for (byte[] p : parts) {
            d.update(p);
        }
        return d.digest();
    }

    private static MessageDigest digest(String name) {
        try {
            return MessageDigest.getInstance(name);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK lacks " + name, e);
        }
    }

    /**
     * A "random" source that hands out a given seed: the only way the JDK 17 offers to derive a
     * public key from a raw private one is its key pair generator, which reads the private key
     * from the random source it is given (one {@code nextBytes} call of the key's length).
     */
    static final class FixedSeed extends SecureRandom {
        private static final long serialVersionUID = 1L;
        private final transient byte[] seed;
        private transient boolean used;

        FixedSeed(byte[] seed) {
            this.seed = seed.clone();
        }

        @Override
        public synchronized void nextBytes(byte[] bytes) {
            if (used || bytes.length != seed.length) {
                throw new IllegalStateException("the key pair generator asked for " + bytes.length
                        + " bytes more than once or of another length than the " + seed.length + "-byte key");
            }
            used = true;
            System.arraycopy(seed, 0, bytes, 0, seed.length);
        }
    }
}
