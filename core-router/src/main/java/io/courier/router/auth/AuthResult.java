package io.courier.router.auth;

import io.courier.transport.proto.Error;

/**
 * The outcome of {@link Authenticator#authenticate}.
 *
 * @param verified   true when the credentials verify.
 * @param code       on failure, {@code AUTH_FAILED} or {@code TOKEN_EXPIRED}.
 * @param reason     on failure, a text for the client that names what is wrong (never the secret).
 * @param issuedAtMs on success, when the credentials were issued (ms since the epoch), or
 *                   {@link #UNKNOWN_ISSUE_TIME}: the router keeps it with the session, so that
 *                   {@link SignedInSessions#signOut} can close the sessions a revocation covers.
 */
public record AuthResult(boolean verified, Error.Code code, String reason, long issuedAtMs) {

    /** The issue time of credentials that carry none: every revocation of their user covers them. */
    public static final long UNKNOWN_ISSUE_TIME = Long.MIN_VALUE;

    private static final AuthResult OK = new AuthResult(true, Error.Code.CODE_UNSPECIFIED, "", UNKNOWN_ISSUE_TIME);

    /** As the canonical constructor, with an unknown issue time. */
    public AuthResult(boolean verified, Error.Code code, String reason) {
        this(verified, code, reason, UNKNOWN_ISSUE_TIME);
    }

    /** Verified credentials whose issue time is not known. */
    public static AuthResult success() {
        return OK;
    }

    /** Verified credentials issued at {@code issuedAtMs}. */
    public static AuthResult success(long issuedAtMs) {
        return new AuthResult(true, Error.Code.CODE_UNSPECIFIED, "", issuedAtMs);
    }

    public static AuthResult failed(Error.Code code, String reason) {
        return new AuthResult(false, code, reason);
    }
}
