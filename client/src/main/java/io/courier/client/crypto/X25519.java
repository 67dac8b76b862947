package io.courier.client.crypto;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.XECPublicKey;
import java.security.spec.NamedParameterSpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;
import javax.crypto.KeyAgreement;

/**
 * RFC 7748 X25519 on raw 32-byte keys, with the JDK's {@code XDH}. Public keys are little-endian
 * u-coordinates; private keys are the 32 random bytes (the JDK clamps them when it uses them).
 */
public final class X25519 {
    private static final BigInteger P = BigInteger.TWO.pow(255).subtract(BigInteger.valueOf(19));

    private X25519() {
    }

    /** A new key pair whose private key is 32 bytes of {@code entropy}. */
    public static KeyPair generate(Entropy entropy) {
        byte[] priv = entropy.bytes(32);
        return new KeyPair(publicOf(priv), priv);
    }

    /** The public key of {@code privateKey}, X25519(privateKey, 9). */
    public static byte[] publicOf(byte[] privateKey) {
        checkLength(privateKey, "private");
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("XDH");
            g.initialize(NamedParameterSpec.X25519, new Primitives.FixedSeed(privateKey));
            return encodeU(((XECPublicKey) g.generateKeyPair().getPublic()).getU());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK's XDH cannot make an X25519 key pair", e);
        }
    }

    /**
     * X25519(privateKey, publicKey). An all-zero result (a low-order public key) is refused as
     * {@link Reason#BAD_KEY}, as is a key of the wrong length.
     */
    public static byte[] agree(byte[] privateKey, byte[] publicKey) {
        checkLength(privateKey, "private");
        checkLength(publicKey, "public");
        byte[] out;
        try {
            KeyAgreement ka = KeyAgreement.getInstance("XDH");
            ka.init(privateKey(privateKey));
            ka.doPhase(publicKey(publicKey), true);
            out = ka.generateSecret();
        } catch (GeneralSecurityException | RuntimeException e) {
            // The JDK refuses a small-order point itself, as an InvalidKeyException.
            throw new E2eException(Reason.BAD_KEY, "X25519 with this public key fails (" + e.getMessage() + ")", e);
        }
        int or = 0;
        for (byte b : out) {
            or |= b;
        }
        if (or == 0) {
            throw new E2eException(Reason.BAD_KEY, "X25519 result is all zero: a low-order public key");
        }
        return out;
    }

    private static void checkLength(byte[] key, String which) {
        if (key == null || key.length != 32) {
            throw new E2eException(Reason.BAD_KEY, "an X25519 " + which + " key is 32 bytes, got "
                    + (key == null ? "none" : key.length));
        }
    }

    static PrivateKey privateKey(byte[] raw) throws GeneralSecurityException {
        return KeyFactory.getInstance("XDH").generatePrivate(new XECPrivateKeySpec(NamedParameterSpec.X25519, raw.clone()));
    }

    /** RFC 7748 decodeUCoordinate: little-endian, the top bit masked, then taken modulo p. */
    static PublicKey publicKey(byte[] raw) throws GeneralSecurityException {
        byte[] be = new byte[32];
        for (int i = 0; i < 32; i++) {
            be[i] = raw[31 - i];
        }
        be[0] &= 0x7f;
        BigInteger u = new BigInteger(1, be).mod(P);
        return KeyFactory.getInstance("XDH").generatePublic(new XECPublicKeySpec(NamedParameterSpec.X25519, u));
    }

    static byte[] encodeU(BigInteger u) {
        byte[] be = u.toByteArray();
        byte[] le = new byte[32];
        // toByteArray is big-endian, maybe with a leading sign byte; copy the low 32 bytes reversed.
        for (int i = 0; i < 32 && i < be.length; i++) {
            le[i] = be[be.length - 1 - i];
        }
        return le;
    }
}
