package io.courier.router.auth;

import io.courier.plugin.PluginOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code auth.mode: hmac}: {@link HmacTokenAuthenticator} with the keys of an {@link HmacKeyring}
 * in {@code auth.options.key-dir} (relative to the data directory; created, with key 1, when
 * absent — and logged, since tokens signed with any other key are refused), the revocations of
 * the storage backend, and the longest token lifetime {@code auth.options.max-token-ttl}. A
 * running server takes the {@link AuthRequests} of its data directory: revocations and key
 * changes made with the {@code courier-server} command apply within a second.
 */
public final class HmacAuthenticatorProvider implements AuthenticatorProvider {

    private static final Logger LOG = LoggerFactory.getLogger(HmacAuthenticatorProvider.class);

    /** Where the keys live, relative to the data directory. */
    public static final PluginOption KEY_DIR = PluginOption.text("key-dir", "auth-keys",
        "the HMAC keys, one file each, relative to `data-dir`; created (with key 1: 32 random bytes; owner-only) if absent");
    /** The longest a token may live. */
    public static final PluginOption MAX_TOKEN_TTL = PluginOption.duration("max-token-ttl", "P30D",
        "the longest a token may live (ISO-8601): `token --ttl` refuses more, and the server refuses tokens that would "
            + "live longer");

    /**
     * The single secret file of Courier before keys could be rotated, relative to the data
     * directory; moved into the key directory as key 1 when that holds no key.
     */
    public static final String LEGACY_SECRET_FILE = "auth.key";

    /** How long a starting server waits for a command that holds the requests' lock for a moment. */
    private static final Duration LOCK_PATIENCE = Duration.ofSeconds(2);

    @Override
    public String name() {
        return "hmac";
    }

    @Override
    public List<PluginOption> options() {
        return List.of(KEY_DIR, MAX_TOKEN_TTL);
    }

    @Override
    public HmacTokenAuthenticator create(AuthenticatorContext context) {
        Path dataDirectory = context.dataDirectory();
        Duration maxLifetime = MAX_TOKEN_TTL.durationIn(context.options());
        Path keyDirectory = keyDirectory(dataDirectory, context.options());
        HmacKeyring.Prepared prepared = HmacKeyring.prepare(keyDirectory, legacySecretFile(dataDirectory));
        if (prepared.imported()) {
            LOG.info("Moved the HMAC secret {} into {} as key 1: tokens it signed keep working",
                legacySecretFile(dataDirectory), keyDirectory);
        }
        if (prepared.created()) {
            LOG.info("Created a new HMAC key 1 in {}; tokens signed with any other key are refused", keyDirectory);
        }
        AuthRequests requests = AuthRequests.claim(dataDirectory, LOCK_PATIENCE);
        HmacUpkeep upkeep;
        try {
            upkeep = new HmacUpkeep(prepared.keys(), context.revocations(), context.sessions(), requests);
        } catch (RuntimeException e) {
            requests.close();
            throw e;
        }
        return new HmacTokenAuthenticator(upkeep::keys, upkeep.revokedBefore(), maxLifetime, upkeep);
    }

    @Override
    public String describe(Path dataDirectory, Map<String, String> options) {
        return "HMAC-SHA256 tokens signed with the keys in " + keyDirectory(dataDirectory, options)
            + ", living at most " + HmacTokenAuthenticator.describe(MAX_TOKEN_TTL.durationIn(options));
    }

    /** Where the keys live for this configuration: absolute, normalised. */
    public static Path keyDirectory(Path dataDirectory, Map<String, String> options) {
        return dataDirectory.resolve(KEY_DIR.textIn(options)).toAbsolutePath().normalize();
    }

    /** The legacy secret file of {@code dataDirectory}: absolute, normalised. */
    public static Path legacySecretFile(Path dataDirectory) {
        return dataDirectory.resolve(LEGACY_SECRET_FILE).toAbsolutePath().normalize();
    }
}
