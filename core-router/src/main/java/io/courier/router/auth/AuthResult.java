package io.courier.router.auth;

import io.courier.transport.proto.Error;

/**
 * The outcome of {@link Authenticator#authenticate}.
 *
 * @param verified true when the credentials verify.
 * @param code   on failure, {@code AUTH_FAILED} or {@code TOKEN_EXPIRED}.
 * @param reason on failure, a text for the client that names what is wrong (never the secret).
 */
public record AuthResult(boolean verified, Error.Code code, String reason) {

    private static final AuthResult OK = new AuthResult(true, Error.Code.CODE_UNSPECIFIED, "");

    public static AuthResult success() {
        return OK;
    }

    public static AuthResult failed(Error.Code code, String reason) {
        return new AuthResult(false, code, reason);
    }
}
