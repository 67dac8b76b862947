package io.courier.client.crypto;

import java.util.Arrays;
import java.util.Objects;

/**
 * A raw 32-byte key pair: X25519 (little-endian u-coordinate, RFC 7748) or Ed25519 (RFC 8032
 * public key and seed). {@link #toString()} shows the public half only.
 *
 * @param publicKey the public key, 32 bytes
 * @param privateKey the private key, 32 bytes
 */
public record KeyPair(byte[] publicKey, byte[] privateKey) {

    /** Checks both halves are 32 bytes; a wrong length is {@link Reason#BAD_KEY}. */
    public KeyPair {
        Objects.requireNonNull(publicKey, "publicKey");
        Objects.requireNonNull(privateKey, "privateKey");
        if (publicKey.length != 32 || privateKey.length != 32) {
            throw new E2eException(Reason.BAD_KEY, "a key pair needs 32-byte keys, got "
                    + publicKey.length + " and " + privateKey.length);
        }
        publicKey = publicKey.clone();
        privateKey = privateKey.clone();
    }

    @Override
    public byte[] publicKey() {
        return publicKey.clone();
    }

    @Override
    public byte[] privateKey() {
        return privateKey.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyPair k && Arrays.equals(publicKey, k.publicKey) && Arrays.equals(privateKey, k.privateKey);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(publicKey);
    }

    @Override
    public String toString() {
        return "KeyPair[public=" + Bytes.hex(publicKey) + ", private=<hidden>]";
    }
}
