package io.courier.server;

import io.courier.router.RouterConfig;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The whole server configuration, immutable. Read from YAML by {@link ConfigLoader}, which fills in
 * the defaults and validates every value; see {@code courier.example.yaml} for an example.
 *
 * @param dataDirectory where storage and the auth secret live ({@code data-dir}).
 * @param auth          how hellos are authenticated ({@code auth.*}).
 * @param storage       which backend and its options ({@code storage.*}).
 * @param transports    enabled transports by name ({@code transports.NAME.*}), in the order configured.
 * @param maxFrameBytes largest frame any transport accepts ({@code max-frame-bytes}).
 * @param router        router limits and intervals ({@code router.*}).
 * @param admin         the metrics endpoint and the browser client ({@code admin.*}).
 * @param limits        connection limits ({@code limits.*}).
 * @param media         the media service ({@code media.*}).
 * @param cluster       whether this server is one node of several, and how they meet ({@code cluster.*}).
 */
public record ServerConfig(
    Path dataDirectory,
    Auth auth,
    Storage storage,
    Map<String, Transport> transports,
    int maxFrameBytes,
    RouterConfig router,
    Admin admin,
    Limits limits,
    Media media,
    Cluster cluster) {

    public ServerConfig {
        // In the order configured (the defaults list tcp, udp, ws, longpoll): transports start, and are logged, so.
        transports = Collections.unmodifiableMap(new LinkedHashMap<>(transports));
    }

    /**
     * @param mode    the authenticator plug-in: {@code hmac} (default), {@code insecure}
     *                (benchmarks only; logged loudly) or any {@code AuthenticatorProvider} on the
     *                class path.
     * @param options {@code auth.options.*} as configured (declared by the plug-in, checked), handed
     *                to the plug-in; absent ones take the plug-in's defaults.
     */
    public record Auth(String mode, Map<String, String> options) {
        public Auth {
            options = Map.copyOf(options);
        }
    }

    /**
     * @param backend the storage provider's name.
     * @param options {@code storage.options.*} as configured (declared by the backend, checked);
     *                absent ones take the backend's defaults.
     */
    public record Storage(String backend, Map<String, String> options) {
        public Storage {
            options = Map.copyOf(options);
        }
    }

    /**
     * One transport: where it listens, and {@code transports.NAME.options.*} as configured
     * (declared by the transport, checked; absent ones take the transport's defaults).
     */
    public record Transport(String host, int port, Map<String, String> options) {
        public Transport {
            options = Map.copyOf(options);
        }
    }

    /**
     * How many connections the server holds, every transport together; see the README's
     * "Connection limits".
     *
     * @param maxConnections           {@code limits.max-connections}; absent: the process's
     *                                 open-file limit less the reserve.
     * @param fdReserve                {@code limits.fd-reserve}, files kept for everything but
     *                                 connections; absent: 1,000, or a quarter of the open-file
     *                                 limit when that is less.
     * @param maxConnectionsPerAddress {@code limits.max-connections-per-address}.
     */
    public record Limits(java.util.OptionalInt maxConnections, java.util.OptionalInt fdReserve,
                         int maxConnectionsPerAddress) {
    }

    /**
     * The media service: presigned upload and download URLs for blobs, and their HTTP endpoint
     * when the store does not serve them itself.
     *
     * @param enabled {@code media.enabled}; when false, slot requests are answered UNSUPPORTED.
     * @param config  every other {@code media.*} key.
     */
    public record Media(boolean enabled, io.courier.media.MediaConfig config) {
    }

    /**
     * The admin endpoint serving {@code /metrics} in Prometheus format, {@code /health}, and the
     * browser client under {@code /app/}.
     *
     * @param browserClient {@code admin.browser-client}: serve the browser client (only while the
     *                      endpoint is enabled).
     */
    public record Admin(boolean enabled, String host, int port, boolean browserClient) {
    }

    /**
     * @param enabled        whether this server is one node of a cluster ({@code cluster.enabled}).
     * @param nodeId         this node's id, unique in the cluster ({@code cluster.node-id}); by
     *                       default the host name and the first transport's port.
     * @param redis          where the cluster's directory and signals live, a {@code redis://} URI
     *                       ({@code cluster.redis}).
     * @param directoryTtlMs how long a device's directory entry outlives its node's last renewal
     *                       ({@code cluster.directory-ttl-ms}): how soon a dead node's devices
     *                       are no longer signalled there.
     */
    public record Cluster(boolean enabled, String nodeId, String redis, long directoryTtlMs) {
    }
}
