package io.courier.server;

import io.courier.router.RouterConfig;
import java.nio.file.Path;
import java.util.Map;

/**
 * The whole server configuration, immutable. Read from YAML by {@link ConfigLoader}, where every
 * default lives and every value is validated; see {@code courier.example.yaml} for the reference.
 *
 * @param dataDirectory where storage and the auth secret live ({@code data-dir}).
 * @param auth          how hellos are authenticated ({@code auth.*}).
 * @param storage       which backend and its options ({@code storage.*}).
 * @param transports    enabled transports by name ({@code transports.NAME.*}).
 * @param maxFrameBytes largest frame any transport accepts ({@code max-frame-bytes}).
 * @param router        router limits and intervals ({@code router.*}).
 * @param admin         the metrics endpoint ({@code admin.*}).
 */
public record ServerConfig(
    Path dataDirectory,
    Auth auth,
    Storage storage,
    Map<String, Transport> transports,
    int maxFrameBytes,
    RouterConfig router,
    Admin admin) {

    public ServerConfig {
        transports = Map.copyOf(transports);
    }

    /**
     * @param mode    the authenticator plug-in: {@code hmac} (default), {@code insecure}
     *                (benchmarks only; logged loudly) or any {@code AuthenticatorProvider} on the
     *                class path.
     * @param options the other {@code auth.*} keys ({@code secret-file}) and {@code auth.options.*},
     *                handed to the plug-in.
     */
    public record Auth(String mode, Map<String, String> options) {
        public Auth {
            options = Map.copyOf(options);
        }
    }

    /**
     * @param backend the storage provider's name.
     * @param options passed to the backend as they are.
     */
    public record Storage(String backend, Map<String, String> options) {
        public Storage {
            options = Map.copyOf(options);
        }
    }

    /** One transport: where it listens, and its own options. */
    public record Transport(String host, int port, Map<String, String> options) {
        public Transport {
            options = Map.copyOf(options);
        }
    }

    /** The admin endpoint serving {@code /metrics} in Prometheus format. */
    public record Admin(boolean enabled, String host, int port) {
    }
}
