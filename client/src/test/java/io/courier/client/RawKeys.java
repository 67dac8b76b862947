package io.courier.client;

import com.google.protobuf.ByteString;
import io.courier.transport.proto.KeyBundlePublish;
import io.courier.transport.proto.OneTimePreKey;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.Arrays;

/**
 * A device's public keys made with the JDK alone (docs/E2E.md section 2), for a {@link RawClient}
 * that publishes a bundle the SDK would never publish: one whose signed pre-key is signed by
 * another key than the identity key it names.
 */
final class RawKeys {

    private RawKeys() {
    }

    /** The raw 32 bytes of an Ed25519 or X25519 public key (the end of its X.509 encoding). */
    static byte[] raw(KeyPair pair) {
        byte[] encoded = pair.getPublic().getEncoded();
        return Arrays.copyOfRange(encoded, encoded.length - 32, encoded.length);
    }

    static KeyPair generate(String algorithm) throws GeneralSecurityException {
        return KeyPairGenerator.getInstance(algorithm).generateKeyPair();
    }

    static byte[] sign(KeyPair ed25519, byte[] message) throws GeneralSecurityException {
        Signature s = Signature.getInstance("Ed25519");
        s.initSign(ed25519.getPrivate());
        s.update(message);
        return s.sign();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    /**
     * A bundle with a real identity key, identity-DH key and signature over it, and a signed
     * pre-key whose signature is made by {@code signer}: the identity key itself for a genuine
     * bundle, any other Ed25519 key for a forged one. One one-time pre-key (id 1) goes with it.
     */
    static KeyBundlePublish bundle(KeyPair identity, KeyPair signer, int signedPreKeyId) throws GeneralSecurityException {
        byte[] identityDh = raw(generate("X25519"));
        byte[] signedPreKey = raw(generate("X25519"));
        byte[] ikdSignature = sign(identity, concat("Courier-IKD-v1".getBytes(StandardCharsets.US_ASCII), identityDh));
        return KeyBundlePublish.newBuilder()
            .setIdentityKey(ByteString.copyFrom(raw(identity)))
            .setAgreementKey(ByteString.copyFrom(signedPreKey))
            .setSignature(ByteString.copyFrom(sign(signer, signedPreKey)))
            .setIdentityDhKey(ByteString.copyFrom(identityDh))
            .setIdentityDhSignature(ByteString.copyFrom(ikdSignature))
            .setSignedPreKeyId(signedPreKeyId)
            .addOneTimePreKeys(OneTimePreKey.newBuilder().setId(1).setPublicKey(ByteString.copyFrom(raw(generate("X25519")))))
            .build();
    }
}
