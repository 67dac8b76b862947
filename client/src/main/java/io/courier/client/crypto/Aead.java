package io.courier.client.crypto;

import java.security.GeneralSecurityException;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM with a 96-bit nonce and a 128-bit tag appended to the ciphertext, with the JDK's
 * {@code AES/GCM/NoPadding}.
 */
public final class Aead {
    private Aead() {
    }

    /** The ciphertext of {@code plaintext} with its 16-byte tag appended, bound to {@code ad}. */
    public static byte[] seal(byte[] key, byte[] nonce, byte[] plaintext, byte[] ad) {
        try {
            return cipher(Cipher.ENCRYPT_MODE, key, nonce, ad).doFinal(plaintext);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK's AES-GCM cannot encrypt", e);
        }
    }

    /** The plaintext of {@code ciphertext} (tag appended); a tag that does not verify is {@link Reason#BAD_CIPHERTEXT}. */
    public static byte[] open(byte[] key, byte[] nonce, byte[] ciphertext, byte[] ad) {
        if (ciphertext.length < 16) {
            throw new E2eException(Reason.MALFORMED, "an AES-GCM ciphertext has at least its 16-byte tag, got "
                    + ciphertext.length + " bytes");
        }
        try {
            return cipher(Cipher.DECRYPT_MODE, key, nonce, ad).doFinal(ciphertext);
        } catch (AEADBadTagException e) {
            throw new E2eException(Reason.BAD_CIPHERTEXT, "the AES-GCM tag does not verify", e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK's AES-GCM cannot decrypt", e);
        }
    }

    private static Cipher cipher(int mode, byte[] key, byte[] nonce, byte[] ad) throws GeneralSecurityException {
        if (key.length != 32) {
            throw new E2eException(Reason.BAD_KEY, "an AES-256 key is 32 bytes, got " + key.length);
        }
        if (nonce.length != 12) {
            throw new E2eException(Reason.MALFORMED, "an AES-GCM nonce is 12 bytes here, got " + nonce.length);
        }
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        c.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
        c.updateAAD(ad);
        return c;
    }
}
