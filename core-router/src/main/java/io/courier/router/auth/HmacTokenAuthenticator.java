package io.courier.router.auth;

import io.courier.transport.proto.Error;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 signed user tokens, the default authenticator.
 *
 * <pre>
 *   token = user ":" expiresAtSeconds ":" base64url(HMAC-SHA256(secret, user ":" expiresAtSeconds))
 * </pre>
 *
 * A token is bound to a user (any of the user's devices may use it) and expires. {@link #mint}
 * creates one; the server's {@code token} command calls it. The secret must be at least 32 bytes.
 */
public final class HmacTokenAuthenticator implements Authenticator {

    private static final String ALGORITHM = "HmacSHA256";
    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

    private final SecretKeySpec key;

    public HmacTokenAuthenticator(byte[] secret) {
        if (secret.length < 32) {
            throw new IllegalArgumentException("The HMAC secret must be at least 32 bytes, was " + secret.length);
        }
        this.key = new SecretKeySpec(secret.clone(), ALGORITHM);
    }

    /** A token for {@code user} valid until {@code expiresAtSeconds} (epoch seconds). */
    public String mint(String user, long expiresAtSeconds) {
        String body = user + ":" + expiresAtSeconds;
        return body + ":" + ENCODER.encodeToString(sign(body));
    }

    @Override
    public AuthResult authenticate(String user, String device, String token, long nowMs) {
        if (token == null || token.isEmpty()) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, "Hello carries no token; mint one with 'courier-server token USER'");
        }
        int second = token.lastIndexOf(':');
        int first = second > 0 ? token.lastIndexOf(':', second - 1) : -1;
        if (first <= 0) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, "Malformed token: expected user:expiry:signature");
        }
        String body = token.substring(0, second);
        byte[] presented;
        long expiresAt;
        try {
            presented = DECODER.decode(token.substring(second + 1));
            expiresAt = Long.parseLong(token.substring(first + 1, second));
        } catch (IllegalArgumentException e) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, "Malformed token: expected user:expiry:signature");
        }
        // Constant-time comparison so the signature cannot be guessed byte by byte.
        if (!MessageDigest.isEqual(sign(body), presented)) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, "Token signature does not verify");
        }
        if (!token.substring(0, first).equals(user)) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, "Token was issued for another user than '" + user + "'");
        }
        if (expiresAt * 1000 <= nowMs) {
            return AuthResult.failed(Error.Code.TOKEN_EXPIRED, "Token expired at " + java.time.Instant.ofEpochSecond(expiresAt));
        }
        return AuthResult.success();
    }

    @Override
    public String name() {
        return "hmac";
    }

    private byte[] sign(String body) {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(key);
            return mac.doFinal(body.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable in this JVM", e);
        }
    }
}
