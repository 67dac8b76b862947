package io.courier.client.crypto;

import java.security.GeneralSecurityException;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** HMAC-SHA-256 with the JDK's {@code HmacSHA256}. */
public final class Hmac {
    private Hmac() {
    }

    /** HMAC-SHA-256(key, message), 32 bytes; the key must not be empty. */
    public static byte[] sha256(byte[] key, byte[] message) {
        Mac mac = mac(key);
        return mac.doFinal(message);
    }

    static Mac mac(byte[] key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK's HmacSHA256 refuses a " + key.length + "-byte key", e);
        }
    }
}
