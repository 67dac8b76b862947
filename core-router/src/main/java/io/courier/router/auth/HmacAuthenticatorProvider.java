package io.courier.router.auth;

import java.nio.file.Path;
import java.util.Map;

/**
 * {@code auth.mode: hmac}: {@link HmacTokenAuthenticator} with the secret in
 * {@code auth.secret-file} (relative to the data directory; created with 32 random bytes, readable
 * by the owner only, when absent).
 */
public final class HmacAuthenticatorProvider implements AuthenticatorProvider {

    @Override
    public String name() {
        return "hmac";
    }

    @Override
    public HmacTokenAuthenticator create(Path dataDirectory, Map<String, String> options) {
        return new HmacTokenAuthenticator(Secrets.loadOrCreate(secretFile(dataDirectory, options)));
    }

    /** Where the secret lives for this configuration. */
    public static Path secretFile(Path dataDirectory, Map<String, String> options) {
        return dataDirectory.resolve(options.getOrDefault("secret-file", "auth.key"));
    }
}
