package io.courier.router.auth;

import io.courier.plugin.PluginOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code auth.mode: hmac}: {@link HmacTokenAuthenticator} with the secret in
 * {@code auth.options.secret-file} (relative to the data directory; created with 32 random bytes,
 * readable by the owner only, when absent — and logged, since tokens signed with any other secret
 * stop working).
 */
public final class HmacAuthenticatorProvider implements AuthenticatorProvider {

    /** Where the secret lives, relative to the data directory. */
    public static final PluginOption SECRET_FILE = PluginOption.text("secret-file", "auth.key",
        "the HMAC secret, relative to `data-dir`; created (32 random bytes, owner-readable only) if absent");

    @Override
    public String name() {
        return "hmac";
    }

    @Override
    public List<PluginOption> options() {
        return List.of(SECRET_FILE);
    }

    @Override
    public HmacTokenAuthenticator create(Path dataDirectory, Map<String, String> options) {
        return new HmacTokenAuthenticator(Secrets.loadOrCreate(secretFile(dataDirectory, options)));
    }

    @Override
    public String describe(Path dataDirectory, Map<String, String> options) {
        return "HMAC-SHA256 tokens signed with the secret in " + secretFile(dataDirectory, options);
    }

    /** Where the secret lives for this configuration: absolute, normalised. */
    public static Path secretFile(Path dataDirectory, Map<String, String> options) {
        return dataDirectory.resolve(SECRET_FILE.textIn(options)).toAbsolutePath().normalize();
    }
}
