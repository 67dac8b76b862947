package io.courier.router.auth;

/**
 * Accepts every Hello as the user it claims. For benchmarks and local experiments only: the
 * server refuses to use it unless configuration says {@code auth.mode: insecure}, and logs a
 * warning at start-up when it does.
 */
public final class InsecureAuthenticator implements Authenticator {

    @Override
    public AuthResult authenticate(String user, String device, String token, long nowMs) {
        return AuthResult.success();
    }

    @Override
    public String name() {
        return "insecure";
    }
}
