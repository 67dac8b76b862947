package io.courier.router.auth;

import java.nio.file.Path;
import java.util.Map;

/** {@code auth.mode: insecure}: anyone may claim any user. Benchmarks only. */
public final class InsecureAuthenticatorProvider implements AuthenticatorProvider {

    @Override
    public String name() {
        return "insecure";
    }

    @Override
    public Authenticator create(AuthenticatorContext context) {
        return new InsecureAuthenticator();
    }

    @Override
    public String describe(Path dataDirectory, Map<String, String> options) {
        return "none: any client may act as any user (benchmarks only)";
    }
}
