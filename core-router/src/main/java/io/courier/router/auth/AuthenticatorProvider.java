package io.courier.router.auth;

import io.courier.plugin.PluginOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * An authentication plug-in, discovered with {@link java.util.ServiceLoader} and selected by
 * {@link #name()} from the {@code auth.mode} configuration key. Built in: {@code hmac} (the
 * default) and {@code insecure}.
 *
 * <p>A provider declares the options it reads in {@link #options()}; the Courier server refuses
 * any other key under {@code auth.options}, and any value of the wrong type, before it starts.
 */
public interface AuthenticatorProvider {

    /** The name {@code auth.mode} selects, lower case. */
    String name();

    /**
     * The options {@link #create} reads, each with its default, in the order to document them.
     * None by default.
     */
    default List<PluginOption> options() {
        return List.of();
    }

    /**
     * One line for the start-up log saying what this mode accepts, e.g. "HMAC-SHA256 tokens
     * signed with the secret in /srv/courier/data/auth.key". Called after {@link #create}.
     */
    default String describe(Path dataDirectory, Map<String, String> options) {
        return "the '" + name() + "' authenticator";
    }

    /**
     * Creates the authenticator, which the server closes when it stops. May block (read secrets,
     * storage); the authenticator it returns must not.
     *
     * @throws IllegalArgumentException naming the bad option.
     * @throws IllegalStateException when a resource it needs is held elsewhere, naming it.
     * @throws java.io.UncheckedIOException naming the file when a secret on disk cannot be read
     *     or created.
     */
    Authenticator create(AuthenticatorContext context);
}
