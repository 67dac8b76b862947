package io.courier.router.auth;

import java.nio.file.Path;
import java.util.Map;

/**
 * An authentication plug-in, discovered with {@link java.util.ServiceLoader} and selected by
 * {@link #name()} from the {@code auth.mode} configuration key. Built in: {@code hmac} (the
 * default) and {@code insecure}.
 */
public interface AuthenticatorProvider {

    /** The name {@code auth.mode} selects, lower case. */
    String name();

    /**
     * Creates the authenticator.
     *
     * @param dataDirectory the server's data directory, for secrets kept on disk.
     * @param options       the {@code auth.*} settings other than {@code mode}, as strings.
     * @throws IllegalArgumentException naming the bad option.
     */
    Authenticator create(Path dataDirectory, Map<String, String> options);
}
