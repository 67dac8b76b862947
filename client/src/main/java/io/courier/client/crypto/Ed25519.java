package io.courier.client.crypto;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.EdECPublicKey;
import java.security.spec.EdECPoint;
import java.security.spec.EdECPrivateKeySpec;
import java.security.spec.EdECPublicKeySpec;
import java.security.spec.NamedParameterSpec;

/**
 * RFC 8032 Ed25519 (pure) on raw keys, with the JDK's {@code Ed25519}: 32-byte seeds as private
 * keys, 32-byte encoded public keys (y little-endian, the sign of x in the top bit), 64-byte
 * signatures.
 */
public final class Ed25519 {
    private Ed25519() {
    }

    /** A new key pair whose private key (seed) is 32 bytes of {@code entropy}. */
    public static KeyPair generate(Entropy entropy) {
        byte[] seed = entropy.bytes(32);
        return new KeyPair(publicOf(seed), seed);
    }

    /** The RFC 8032 public key of the 32-byte seed {@code privateKey}. */
    public static byte[] publicOf(byte[] privateKey) {
        checkLength(privateKey, 32, "private key");
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("Ed25519");
            g.initialize(NamedParameterSpec.ED25519, new Primitives.FixedSeed(privateKey));
            return encode(((EdECPublicKey) g.generateKeyPair().getPublic()).getPoint());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK's Ed25519 cannot make a key pair", e);
        }
    }

    /** The 64-byte signature of {@code message} by the seed {@code privateKey}. */
    public static byte[] sign(byte[] privateKey, byte[] message) {
        checkLength(privateKey, 32, "private key");
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(KeyFactory.getInstance("Ed25519").generatePrivate(
                    new EdECPrivateKeySpec(NamedParameterSpec.ED25519, privateKey.clone())));
            s.update(message);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK's Ed25519 cannot sign", e);
        }
    }

    /**
     * Whether {@code signature} is {@code publicKey}'s signature of {@code message}; false, never
     * an exception, for a malformed key or signature.
     */
    public static boolean verify(byte[] publicKey, byte[] message, byte[] signature) {
        if (publicKey == null || publicKey.length != 32 || signature == null || signature.length != 64) {
            return false;
        }
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(KeyFactory.getInstance("Ed25519").generatePublic(
                    new EdECPublicKeySpec(NamedParameterSpec.ED25519, decode(publicKey))));
            s.update(message);
            return s.verify(signature);
        } catch (GeneralSecurityException | RuntimeException e) {
            // A point that does not decode, or a signature the JDK cannot parse, is no valid signature.
            return false;
        }
    }

    private static void checkLength(byte[] key, int n, String what) {
        if (key == null || key.length != n) {
            throw new E2eException(Reason.BAD_KEY, "an Ed25519 " + what + " is " + n + " bytes, got "
                    + (key == null ? "none" : key.length));
        }
    }

    /** RFC 8032 section 5.1.2: y as 32 little-endian bytes, the low bit of x in the top bit. */
    static byte[] encode(EdECPoint p) {
        byte[] out = X25519.encodeU(p.getY());
        if (p.isXOdd()) {
            out[31] |= (byte) 0x80;
        }
        return out;
    }

    static EdECPoint decode(byte[] raw) {
        byte[] be = new byte[32];
        for (int i = 0; i < 32; i++) {
            be[i] = raw[31 - i];
        }
        boolean xOdd = (be[0] & 0x80) != 0;
        be[0] &= 0x7f;
        return new EdECPoint(xOdd, new BigInteger(1, be));
    }
}
