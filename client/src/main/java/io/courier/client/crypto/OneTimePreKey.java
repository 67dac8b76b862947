package io.courier.client.crypto;

import java.util.Objects;

/**
 * A one-time pre-key (docs/E2E.md section 2): an X25519 key pair with a 32-bit id unique on the
 * device, handed out once by the server; its private half is erased once a session is made with
 * it. {@link #toString()} hides the private half.
 *
 * @param id the device's id of this key
 * @param keys the X25519 key pair
 */
public record OneTimePreKey(int id, KeyPair keys) {

    /** Checks the fields. */
    public OneTimePreKey {
        Objects.requireNonNull(keys, "keys");
    }

    /** A new one-time pre-key from 32 bytes of {@code entropy}. */
    public static OneTimePreKey generate(int id, Entropy entropy) {
        return new OneTimePreKey(id, X25519.generate(entropy));
    }

    /** {@code 01 || be32(id) || pub (32) || priv (32)}. */
    public byte[] toBytes() {
        return new Bytes.Writer().u8(1).be32(id).raw(keys.publicKey()).raw(keys.privateKey()).toBytes();
    }

    /** Reads {@link #toBytes()}: {@link Reason#UNSUPPORTED_VERSION} or {@link Reason#MALFORMED} when it cannot. */
    public static OneTimePreKey fromBytes(byte[] bytes) {
        Bytes.Reader r = new Bytes.Reader(bytes, "a one-time pre-key");
        int version = r.u8();
        if (version != 1) {
            throw new E2eException(Reason.UNSUPPORTED_VERSION, "one-time pre-key version " + version + " is unknown");
        }
        int id = r.be32();
        byte[] pub = r.raw(32);
        OneTimePreKey k = new OneTimePreKey(id, new KeyPair(pub, r.raw(32)));
        r.end();
        return k;
    }

    @Override
    public String toString() {
        return "OneTimePreKey[id=" + Integer.toUnsignedString(id) + ", keys=" + keys + "]";
    }
}
