package io.courier.router.auth;

import io.courier.storage.DeviceId;
import io.courier.transport.Frames;
import io.courier.transport.proto.Error;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 signed tokens, the default authenticator. A token names the key that signed it, its
 * user, the device it is bound to (or any), when it was issued and when it expires:
 *
 * <pre>
 *   token     = "v2" ":" key ":" user ":" device ":" issued ":" expires ":" signature
 *   key       = the signing key's id in the {@link HmacKeyring} (decimal)
 *   device    = a device id, or "*" for any device of the user
 *   issued    = ms since the epoch when it was minted
 *   expires   = ms since the epoch from which it is refused
 *   signature = base64url, no padding ( HMAC-SHA256( bytes of key, UTF-8 of everything before the last ":" ) )
 * </pre>
 *
 * A hello's token is refused ({@code AUTH_FAILED} unless said otherwise) when it is malformed,
 * signed by a key the keyring does not hold (retired), does not verify, names another user, is
 * bound to another device, has expired ({@code TOKEN_EXPIRED}), was issued more than
 * {@value #CLOCK_SKEW_MS} ms ahead of the server's clock, lives longer than the maximum lifetime
 * (from issue to expiry, or from now to expiry), or was issued before its user's revocation
 * cutoff. Each refusal says which in its text.
 *
 * <p>Tokens of the first format, {@code user ":" expirySeconds ":" signature} (signed over
 * {@code user ":" expirySeconds}), are still accepted, verified with key 1 — the secret that signed
 * them was moved into the keyring as key 1 — and bound to no device. They carry no issue time, so
 * any revocation of their user refuses them, and they end when key 1 is retired. Nothing mints
 * them any more.
 *
 * <p>Checking is quick and never blocks: the keys and the revocation cutoffs are in memory, read
 * through the suppliers given, which the server keeps current.
 */
public final class HmacTokenAuthenticator implements Authenticator {

    /** How far ahead of the server's clock a token's issue time may be (another machine minted it). */
    public static final long CLOCK_SKEW_MS = 60_000;
    /** A token's device field that binds it to no device. */
    public static final String ANY_DEVICE = "*";

    private static final String ALGORITHM = "HmacSHA256";
    private static final String VERSION = "v2";
    private static final int LEGACY_KEY = 1;
    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder DECODER = Base64.getUrlDecoder();
    private static final String MALFORMED = "Malformed token: expected v2:key:user:device:issued:expires:signature";

    private final Supplier<HmacKeyring> keys;
    private final Map<String, Long> revokedBefore;
    private final Duration maxLifetime;
    private final String maxLifetimeText;
    private final AutoCloseable resources;

    /**
     * @param keys          the current keyring; read on every hello.
     * @param revokedBefore each user's revocation cutoff (ms since the epoch); read on every hello,
     *                      so a concurrent map the server updates.
     * @param maxLifetime   the longest a token may live ({@code auth.options.max-token-ttl}).
     * @param resources     closed with this authenticator (what keeps the suppliers current), or null.
     */
    public HmacTokenAuthenticator(Supplier<HmacKeyring> keys, Map<String, Long> revokedBefore, Duration maxLifetime,
                                  AutoCloseable resources) {
        this.keys = Objects.requireNonNull(keys, "keys");
        this.revokedBefore = Objects.requireNonNull(revokedBefore, "revokedBefore");
        this.maxLifetime = Objects.requireNonNull(maxLifetime, "maxLifetime");
        this.maxLifetimeText = describe(maxLifetime);
        this.resources = resources;
    }

    /**
     * A token for {@code user}, signed with the keyring's active key.
     *
     * @param device    the device it is bound to, or {@link #ANY_DEVICE}.
     * @param issuedMs  its issue time, ms since the epoch (now, normally).
     * @param expiresMs when it expires, ms since the epoch.
     * @throws IllegalArgumentException when user or device is not an id, or the keyring is empty.
     */
    public static String mint(HmacKeyring keys, String user, String device, long issuedMs, long expiresMs) {
        if (!DeviceId.isValidId(user)) {
            throw new IllegalArgumentException("'" + user + "' is not a user id: " + DeviceId.SYNTAX);
        }
        if (!device.equals(ANY_DEVICE) && !DeviceId.isValidId(device)) {
            throw new IllegalArgumentException("'" + device + "' is not a device id: " + DeviceId.SYNTAX);
        }
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("There is no HMAC key in " + keys.directory() + " to sign a token with");
        }
        int key = keys.activeId();
        String body = VERSION + ":" + key + ":" + user + ":" + device + ":" + issuedMs + ":" + expiresMs;
        return body + ":" + ENCODER.encodeToString(sign(keys.secret(key).orElseThrow(), body));
    }

    @Override
    public AuthResult authenticate(String user, String device, String token, long nowMs) {
        if (token == null || token.isEmpty()) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, "Hello carries no token; mint one with 'courier-server token USER'");
        }
        String[] fields = token.split(":", -1);
        if (fields.length == 7 && fields[0].equals(VERSION)) {
            return version2(fields, token, user, device, nowMs);
        }
        if (fields.length == 3) {
            return version1(fields, token, user, nowMs);
        }
        return AuthResult.failed(Error.Code.AUTH_FAILED, MALFORMED);
    }

    private AuthResult version2(String[] fields, String token, String user, String device, long nowMs) {
        int key;
        long issuedMs;
        long expiresMs;
        byte[] presented;
        try {
            key = Integer.parseInt(fields[1]);
            issuedMs = Long.parseLong(fields[4]);
            expiresMs = Long.parseLong(fields[5]);
            presented = DECODER.decode(fields[6]);
        } catch (IllegalArgumentException e) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, MALFORMED);
        }
        if (fields[2].isEmpty() || fields[3].isEmpty()) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, MALFORMED);
        }
        Optional<byte[]> secret = keys.get().secret(key);
        if (secret.isEmpty()) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, "Token is signed with key " + key
                + ", which this server does not hold (retired, or never made here); mint a new one");
        }
        // Constant-time comparison so the signature cannot be guessed byte by byte.
        if (!MessageDigest.isEqual(sign(secret.get(), token.substring(0, token.lastIndexOf(':'))), presented)) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, "Token signature does not verify");
        }
        // Signed: the fields are the server's own words from here on.
        if (!fields[2].equals(user)) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, "Token was issued for another user than " + Frames.quote(user));
        }
        if (!fields[3].equals(ANY_DEVICE) && !fields[3].equals(device)) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, "Token is bound to device " + Frames.quote(fields[3])
                + ", not " + Frames.quote(device));
        }
        if (expiresMs <= nowMs) {
            return AuthResult.failed(Error.Code.TOKEN_EXPIRED, "Token expired at " + Instant.ofEpochMilli(expiresMs));
        }
        if (issuedMs > nowMs + CLOCK_SKEW_MS) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, "Token was issued at " + Instant.ofEpochMilli(issuedMs)
                + ", ahead of this server's clock (" + Instant.ofEpochMilli(nowMs) + "); mint it where the clock is right");
        }
        // From issue to expiry, or from now when it claims to be issued a little ahead: both are bounded.
        Optional<AuthResult> tooLong = lifetime(span(Math.min(issuedMs, nowMs), expiresMs), expiresMs);
        if (tooLong.isPresent()) {
            return tooLong.get();
        }
        Long cutoff = revokedBefore.get(user);
        if (cutoff != null && issuedMs < cutoff) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, "Token was revoked: tokens of '" + user + "' issued before "
                + Instant.ofEpochMilli(cutoff) + " are refused; mint a new one");
        }
        return AuthResult.success(issuedMs);
    }

    private AuthResult version1(String[] fields, String token, String user, long nowMs) {
        long expiresSeconds;
        byte[] presented;
        try {
            expiresSeconds = Long.parseLong(fields[1]);
            presented = DECODER.decode(fields[2]);
        } catch (IllegalArgumentException e) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, MALFORMED);
        }
        if (fields[0].isEmpty()) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, MALFORMED);
        }
        Optional<byte[]> secret = keys.get().secret(LEGACY_KEY);
        if (secret.isEmpty()) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, "Token is of the first format, which key 1 verifies, and "
                + "key 1 was retired; mint a new one");
        }
        if (!MessageDigest.isEqual(sign(secret.get(), token.substring(0, token.lastIndexOf(':'))), presented)) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, "Token signature does not verify");
        }
        if (!fields[0].equals(user)) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, "Token was issued for another user than " + Frames.quote(user));
        }
        long expiresMs = expiresSeconds > Long.MAX_VALUE / 1000 ? Long.MAX_VALUE : expiresSeconds * 1000;
        if (expiresMs <= nowMs) {
            return AuthResult.failed(Error.Code.TOKEN_EXPIRED, "Token expired at " + Instant.ofEpochMilli(expiresMs));
        }
        Optional<AuthResult> tooLong = lifetime(expiresMs - nowMs, expiresMs);
        if (tooLong.isPresent()) {
            return tooLong.get();
        }
        Long cutoff = revokedBefore.get(user);
        if (cutoff != null) {
            return AuthResult.failed(Error.Code.AUTH_FAILED, "Token was revoked: tokens of '" + user + "' issued before "
                + Instant.ofEpochMilli(cutoff) + " are refused, and a token of the first format carries no issue "
                + "time; mint a new one");
        }
        return AuthResult.success();
    }

    /** A refusal when {@code lifetimeMs} is above the maximum. */
    private Optional<AuthResult> lifetime(long lifetimeMs, long expiresMs) {
        if (lifetimeMs <= maxLifetime.toMillis()) {
            return Optional.empty();
        }
        return Optional.of(AuthResult.failed(Error.Code.AUTH_FAILED, "Token lifetime above the maximum: it is valid until "
            + Instant.ofEpochMilli(expiresMs) + ", " + describe(Duration.ofMillis(lifetimeMs)) + ", and tokens may live "
            + maxLifetimeText + " (auth.options.max-token-ttl); mint one with a shorter --ttl"));
    }

    /** Stops what keeps the keys and revocations current. */
    @Override
    public void close() {
        if (resources != null) {
            try {
                resources.close();
            } catch (Exception e) {
                throw new IllegalStateException("Closing the HMAC authenticator failed: " + e.getMessage(), e);
            }
        }
    }

    @Override
    public String name() {
        return "hmac";
    }

    /** {@code to - from}, or {@link Long#MAX_VALUE} when that does not fit a long. */
    private static long span(long from, long to) {
        long span = to - from;
        return ((to ^ from) & (to ^ span)) < 0 ? Long.MAX_VALUE : span;
    }

    /** A duration as a person writes it: {@code P30D} for whole days, ISO-8601 otherwise ({@code PT12H}). */
    public static String describe(Duration duration) {
        long days = duration.toDays();
        return Duration.ofDays(days).equals(duration) ? "P" + days + "D" : duration.toString();
    }

    /**
     * HMAC-SHA256 of the UTF-8 of {@code body} under {@code key}. Each thread keeps one {@link Mac}
     * and the key it was last initialised with: a hello is verified on an I/O thread, and looking
     * the algorithm up ({@code Mac.getInstance}) and initialising it with the key on every one was
     * most of a connect's authentication cost. {@code doFinal} leaves the Mac ready for the same
     * key again; another key (an older one, or a keyring read anew) initialises it once.
     */
    static byte[] sign(byte[] key, String body) {
        Signer signer = SIGNERS.get();
        try {
            return signer.mac(key).doFinal(body.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable in this JVM", e);
        }
    }

    private static final ThreadLocal<Signer> SIGNERS = ThreadLocal.withInitial(Signer::new);

    /** One thread's Mac, initialised with {@link #key}. */
    private static final class Signer {
        private Mac mac;
        /**
         * The key {@link #mac} holds, compared by identity: a keyring's key arrays are never
         * changed, and holding it here keeps another array from ever being mistaken for it.
         */
        private byte[] key;

        Mac mac(byte[] wanted) throws GeneralSecurityException {
            if (mac == null) {
                mac = Mac.getInstance(ALGORITHM);
            }
            if (key != wanted) {
                key = null;
                mac.init(new SecretKeySpec(wanted, ALGORITHM));
                key = wanted;
            }
            return mac;
        }
    }
}
