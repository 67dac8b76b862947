package io.courier.client.crypto;

import java.util.Arrays;
import java.util.Objects;

/**
 * A signed pre-key (docs/E2E.md section 2): an X25519 key pair with a 32-bit id, published with
 * {@code Sign(IKs, SPK.pub)}; replaced every 7 days, its private half kept 30 days more.
 * {@link #toString()} hides the private half.
 *
 * @param id the device's id of this key
 * @param keys the X25519 key pair
 * @param signature IKs's Ed25519 signature of the 32-byte public key
 * @param createdAtMs when it was made, for rotation
 */
public record SignedPreKey(int id, KeyPair keys, byte[] signature, long createdAtMs) {

    /** Checks the fields. */
    public SignedPreKey {
        Objects.requireNonNull(keys, "keys");
        if (signature == null || signature.length != 64) {
            throw new E2eException(Reason.MALFORMED, "a signed pre-key signature is 64 bytes");
        }
        signature = signature.clone();
    }

    /** A new signed pre-key, 32 bytes of {@code entropy}, signed by {@code identity}. */
    public static SignedPreKey generate(DeviceIdentity identity, int id, long nowMs, Entropy entropy) {
        KeyPair keys = X25519.generate(entropy);
        return new SignedPreKey(id, keys, Ed25519.sign(identity.signingKeys().privateKey(), keys.publicKey()), nowMs);
    }

    @Override
    public byte[] signature() {
        return signature.clone();
    }

    /** {@code 01 || be32(id) || pub (32) || priv (32) || signature (64) || be64(createdAtMs)}. */
    public byte[] toBytes() {
        return new Bytes.Writer().u8(1).be32(id).raw(keys.publicKey()).raw(keys.privateKey()).raw(signature)
                .be64(createdAtMs).toBytes();
    }

    /** Reads {@link #toBytes()}: {@link Reason#UNSUPPORTED_VERSION} or {@link Reason#MALFORMED} when it cannot. */
    public static SignedPreKey fromBytes(byte[] bytes) {
        Bytes.Reader r = new Bytes.Reader(bytes, "a signed pre-key");
        int version = r.u8();
        if (version != 1) {
            throw new E2eException(Reason.UNSUPPORTED_VERSION, "signed pre-key version " + version + " is unknown");
        }
        int id = r.be32();
        byte[] pub = r.raw(32);
        byte[] priv = r.raw(32);
        SignedPreKey k = new SignedPreKey(id, new KeyPair(pub, priv), r.raw(64), r.be64());
        r.end();
        return k;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SignedPreKey k && id == k.id && keys.equals(k.keys) && Arrays.equals(signature, k.signature)
                && createdAtMs == k.createdAtMs;
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, keys, createdAtMs);
    }

    @Override
    public String toString() {
        return "SignedPreKey[id=" + Integer.toUnsignedString(id) + ", keys=" + keys + ", createdAtMs=" + createdAtMs + "]";
    }
}
