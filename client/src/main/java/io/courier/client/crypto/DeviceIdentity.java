package io.courier.client.crypto;

import java.util.Arrays;
import java.util.Objects;

/**
 * The long-term keys of this device (docs/E2E.md section 2): {@code IKs}, the Ed25519 key that
 * signs (and that safety numbers cover), and {@code IKd}, the X25519 key X3DH uses, signed by
 * {@code IKs} since the JDK and WebCrypto lack XEdDSA. Nothing here ever leaves the device except
 * the public halves. {@link #toString()} shows the public halves only.
 */
public final class DeviceIdentity {
    static final byte[] IKD_LABEL = Bytes.ascii("Courier-IKD-v1");

    private final KeyPair signing;
    private final KeyPair dh;
    private final byte[] identityDhSignature;

    private DeviceIdentity(KeyPair signing, KeyPair dh) {
        this.signing = Objects.requireNonNull(signing, "signing");
        this.dh = Objects.requireNonNull(dh, "dh");
        this.identityDhSignature = Ed25519.sign(signing.privateKey(), Bytes.concat(IKD_LABEL, dh.publicKey()));
    }

    /** A new identity: 32 bytes of {@code entropy} for the IKs seed, then 32 for the IKd private key. */
    public static DeviceIdentity generate(Entropy entropy) {
        KeyPair iks = Ed25519.generate(entropy);
        KeyPair ikd = X25519.generate(entropy);
        return new DeviceIdentity(iks, ikd);
    }

    /** The identity of these key pairs; a public half that does not match its private half is {@link Reason#BAD_KEY}. */
    public static DeviceIdentity of(KeyPair signing, KeyPair dh) {
        if (!Arrays.equals(Ed25519.publicOf(signing.privateKey()), signing.publicKey())
                || !Arrays.equals(X25519.publicOf(dh.privateKey()), dh.publicKey())) {
            throw new E2eException(Reason.BAD_KEY, "an identity key pair's public half does not match its private half");
        }
        return new DeviceIdentity(signing, dh);
    }

    /** IKs: the Ed25519 identity key pair. */
    public KeyPair signingKeys() {
        return signing;
    }

    /** IKd: the X25519 identity key pair. */
    public KeyPair dhKeys() {
        return dh;
    }

    /** IKs.pub, the 32-byte public key published as the device's identity key. */
    public byte[] identityKey() {
        return signing.publicKey();
    }

    /** IKd.pub, the 32-byte X25519 identity key. */
    public byte[] identityDhKey() {
        return dh.publicKey();
    }

    /** {@code Sign(IKs, ascii("Courier-IKD-v1") || IKd.pub)}, published as {@code identity_dh_signature}. */
    public byte[] identityDhSignature() {
        return identityDhSignature.clone();
    }

    /** {@code 01 || IKs seed (32) || IKs.pub (32) || IKd.priv (32) || IKd.pub (32)}, for the device's database. */
    public byte[] toBytes() {
        return new Bytes.Writer().u8(1).raw(signing.privateKey()).raw(signing.publicKey())
                .raw(dh.privateKey()).raw(dh.publicKey()).toBytes();
    }

    /** Reads {@link #toBytes()}: {@link Reason#UNSUPPORTED_VERSION} or {@link Reason#MALFORMED} when it cannot. */
    public static DeviceIdentity fromBytes(byte[] bytes) {
        Bytes.Reader r = new Bytes.Reader(bytes, "a device identity");
        int version = r.u8();
        if (version != 1) {
            throw new E2eException(Reason.UNSUPPORTED_VERSION, "device identity version " + version + " is unknown");
        }
        byte[] sPriv = r.raw(32);
        byte[] sPub = r.raw(32);
        byte[] dPriv = r.raw(32);
        byte[] dPub = r.raw(32);
        r.end();
        return of(new KeyPair(sPub, sPriv), new KeyPair(dPub, dPriv));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DeviceIdentity d && signing.equals(d.signing) && dh.equals(d.dh);
    }

    @Override
    public int hashCode() {
        return signing.hashCode();
    }

    @Override
    public String toString() {
        return "DeviceIdentity[identityKey=" + Bytes.hex(signing.publicKey()) + ", identityDhKey="
                + Bytes.hex(dh.publicKey()) + "]";
    }
}
