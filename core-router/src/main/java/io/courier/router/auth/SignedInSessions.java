package io.courier.router.auth;

/**
 * The sessions the router has let in, as an authenticator may act on them: when credentials are
 * revoked, the connections that said hello with them are closed, not only future hellos refused.
 * The server hands one to each authenticator in its {@link AuthenticatorContext}. Thread-safe;
 * does not block.
 */
public interface SignedInSessions {

    /** None: for an authenticator used without a router (tests, tools). */
    SignedInSessions NONE = (user, issuedBeforeMs, text) -> 0;

    /**
     * Closes every open session of {@code user} whose credentials were issued before
     * {@code issuedBeforeMs} (those of unknown issue time included), each with a fatal
     * {@code AUTH_FAILED} error carrying {@code text}.
     *
     * @return how many were closed.
     */
    int signOut(String user, long issuedBeforeMs, String text);
}
