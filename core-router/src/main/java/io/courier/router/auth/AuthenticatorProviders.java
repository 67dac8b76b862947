package io.courier.router.auth;

import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** Finds {@link AuthenticatorProvider}s on the class path by name. */
public final class AuthenticatorProviders {

    private AuthenticatorProviders() {
    }

    /** Every provider on the class path, by name, sorted. */
    public static Map<String, AuthenticatorProvider> all() {
        Map<String, AuthenticatorProvider> byName = new TreeMap<>();
        for (AuthenticatorProvider provider : ServiceLoader.load(AuthenticatorProvider.class)) {
            AuthenticatorProvider previous = byName.putIfAbsent(provider.name(), provider);
            if (previous != null) {
                throw new IllegalStateException("Two authenticators share the name '" + provider.name() + "': "
                    + previous.getClass().getName() + " and " + provider.getClass().getName());
            }
        }
        return byName;
    }

    /**
     * The provider named {@code name}.
     *
     * @throws IllegalArgumentException naming the unknown mode and listing the known ones.
     */
    public static AuthenticatorProvider find(String name) {
        Map<String, AuthenticatorProvider> byName = all();
        AuthenticatorProvider provider = byName.get(name);
        if (provider == null) {
            throw new IllegalArgumentException("Unknown auth.mode '" + name + "'; available: " + byName.keySet());
        }
        return provider;
    }
}
