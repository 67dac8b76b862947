package io.courier.router.auth;

import io.courier.storage.RevocationStore;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * What the server hands an {@link AuthenticatorProvider} to create its authenticator with.
 *
 * @param dataDirectory the server's data directory, for secrets kept on disk.
 * @param options       the {@code auth.options.*} settings, as strings (each declared by the
 *                      provider and checked).
 * @param revocations   the storage backend's token revocations, for authenticators whose tokens
 *                      can be revoked; open for as long as the authenticator.
 * @param sessions      the sessions the router let in, to close those whose credentials are
 *                      revoked; none are open yet while {@code create} runs.
 */
public record AuthenticatorContext(Path dataDirectory, Map<String, String> options, RevocationStore revocations,
                                   SignedInSessions sessions) {

    public AuthenticatorContext {
        Objects.requireNonNull(dataDirectory, "dataDirectory");
        options = Map.copyOf(options);
        Objects.requireNonNull(revocations, "revocations");
        Objects.requireNonNull(sessions, "sessions");
    }
}
