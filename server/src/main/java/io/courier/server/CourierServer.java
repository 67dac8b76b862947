package io.courier.server;

import io.courier.cluster.redis.RedisClusterLink;
import io.courier.media.MediaService;
import io.courier.router.Router;
import io.courier.router.auth.Authenticator;
import io.courier.router.auth.AuthenticatorContext;
import io.courier.router.auth.SignedInSessions;
import io.courier.router.auth.AuthenticatorProvider;
import io.courier.router.auth.AuthenticatorProviders;
import io.courier.server.internal.AdminServer;
import io.courier.server.internal.BrowserClient;
import io.courier.server.internal.ConnectionLimiter;
import io.courier.server.internal.ConnectionLimits;
import io.courier.server.internal.DataDirectory;
import io.courier.server.internal.RouterMediaSlots;
import io.courier.server.internal.Version;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.StorageProvider;
import io.courier.storage.StorageProviders;
import io.courier.transport.ListenException;
import io.courier.transport.TransportProvider;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Courier server: storage, router, transports and the admin endpoint, wired from a
 * {@link ServerConfig}. Plug-ins are found with {@link java.util.ServiceLoader} by the names the
 * configuration gives. Start with {@link #start}, stop with {@link #close} (also on SIGTERM when
 * run from {@link Main}).
 */
public final class CourierServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(CourierServer.class);

    private final ServerConfig config;
    private final Clock clock;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Map<String, TransportServer> transports = new LinkedHashMap<>();
    private StorageBackend storage;
    private Authenticator authenticator;
    private volatile Router router;
    // This node's link to the others (cluster.enabled); the router closes it once it runs.
    private RedisClusterLink link;
    private ConnectionLimiter gate;
    private AdminServer admin;
    private MediaService media;
    private boolean ready;
    private boolean closed;

    private CourierServer(ServerConfig config, Clock clock) {
        this.config = config;
        this.clock = clock;
        new JvmMemoryMetrics().bindTo(registry);
    }

    /**
     * Opens storage, starts the router, binds every enabled transport and the admin endpoint.
     *
     * @throws ConfigException when a plug-in name is unknown (listing the known ones), the data
     *     directory is unusable, or an address cannot be bound (naming the key to change).
     * @throws io.courier.storage.StorageException when storage cannot be opened (naming where).
     */
    public static CourierServer start(ServerConfig config) {
        return start(config, Clock.systemUTC());
    }

    /** As {@link #start(ServerConfig)}, with the clock the router uses for heartbeats and timestamps. */
    public static CourierServer start(ServerConfig config, Clock clock) {
        CourierServer server = new CourierServer(config, clock);
        try {
            server.startAll();
        } catch (RuntimeException e) {
            try {
                server.close();
            } catch (RuntimeException alsoFailed) {
                e.addSuppressed(alsoFailed);
            }
            throw e;
        }
        return server;
    }

    private void startAll() {
        LOG.info("Courier {} starting; data directory {}", Version.current(), config.dataDirectory());
        // Before anything is opened: limits that cannot fit the open-file limit stop start-up.
        ConnectionLimits limits = ConnectionLimits.resolve(config.limits());
        LOG.info("Connection limits: {}", limits.describe());
        DataDirectory.prepare(config.dataDirectory());
        AuthenticatorProvider authProvider;
        try {
            authProvider = AuthenticatorProviders.find(config.auth().mode());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
        Map<String, TransportProvider> providers = new LinkedHashMap<>();
        for (String name : config.transports().keySet()) {
            try {
                providers.put(name, TransportProviders.find(name));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(e.getMessage() + " (key transports." + name + ")");
            }
        }
        StorageProvider storageProvider;
        try {
            storageProvider = StorageProviders.find(config.storage().backend());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
        try {
            storage = storageProvider.open(new StorageConfig(config.dataDirectory(), config.storage().options()));
        } catch (IllegalArgumentException e) {
            throw new ConfigException("storage.backend '" + storageProvider.name() + "': " + e.getMessage());
        }
        LOG.info("Storage backend '{}' open", storage.name());
        // After storage: an authenticator may keep what it needs there (the hmac one, its revocations).
        // It may sign sessions out once the router runs; none are open before.
        SignedInSessions signedIn = (user, issuedBeforeMs, text) -> router == null ? 0
            : router.signOut(user, issuedBeforeMs, text);
        authenticator = authenticator(authProvider, config, storage, signedIn);
        if (config.media().enabled()) {
            try {
                media = MediaService.start(config.media().config(), clock);
            } catch (MediaService.MediaListenException e) {
                throw new ConfigException(e.getMessage());
            } catch (IllegalArgumentException e) {
                throw new ConfigException("media.store '" + config.media().config().store() + "': " + e.getMessage());
            }
        }
        if (config.router().sharedStore() && !storage.messages().isShared()) {
            String key = config.cluster().enabled() ? "cluster.enabled" : "router.shared-store";
            throw new ConfigException(key + " needs a storage backend that several servers can share (postgres);"
                + " storage.backend '" + storage.name() + "' belongs to this one process (its data is in this process's"
                + " memory or data directory), so other nodes could neither read nor number what it holds");
        }
        Router built = new Router(config.router(), storage, authenticator, registry, clock,
            media == null ? null : new RouterMediaSlots(media));
        if (config.cluster().enabled()) {
            ServerConfig.Cluster cluster = config.cluster();
            try {
                link = new RedisClusterLink(cluster.redis(), cluster.nodeId(), cluster.directoryTtlMs(), registry);
            } catch (RuntimeException e) {
                throw new ConfigException("Cannot reach the cluster's Redis at " + cluster.redis() + " (cluster.redis): "
                    + e.getMessage());
            }
            built.cluster(link);
            LOG.info("Cluster node '{}', directory and signals on Redis at {}", cluster.nodeId(), cluster.redis());
        }
        router = built.start();
        // One gate for every transport: the limits count connections over all of them.
        gate = new ConnectionLimiter(limits.maxConnections(), limits.maxConnectionsPerAddress(),
            limits.lingerAllowance(), config.router().helloTimeoutMs(), registry);
        List<String> listening = new ArrayList<>();
        for (Map.Entry<String, TransportProvider> e : providers.entrySet()) {
            String name = e.getKey();
            ServerConfig.Transport t = config.transports().get(name);
            try {
                TransportServer server = e.getValue().createServer(
                    new TransportSettings(t.host(), t.port(), config.maxFrameBytes(), t.options(), gate), router);
                transports.put(name, server);
                server.start();
                Gauge.builder("courier.unread.output.bytes", server, TransportServer::unreadOutputBytes)
                    .tag("transport", name).baseUnit("bytes")
                    .description("Bytes waiting to be sent to clients (bounded per connection by max-unread-output-bytes)")
                    .register(registry);
                FunctionCounter.builder("courier.handshakes.dropped", server, TransportServer::droppedHandshakes)
                    .tag("transport", name)
                    .description("Handshakes dropped unanswered: too short, or past the per-source rate limit (UDP)")
                    .register(registry);
                listening.add(name + " " + shown(server.address()));
            } catch (ListenException failed) {
                throw new ConfigException(cannotListen("transport '" + name + "'", "transports." + name, failed));
            } catch (IllegalArgumentException badOption) {
                throw new ConfigException("transports." + name + ".options: " + badOption.getMessage());
            }
        }
        if (media != null) {
            listening.add(media.port() < 0 ? "media via store '" + media.store().name() + "'"
                : "media " + media.publicUrl());
        }
        if (config.admin().enabled()) {
            try {
                admin = AdminServer.start(config.admin().host(), config.admin().port(), registry, browserClient(),
                    this::health);
            } catch (ListenException failed) {
                throw new ConfigException(cannotListen("the admin endpoint", "admin", failed));
            }
            String adminAddress = "http://" + config.admin().host() + ":" + admin.port();
            listening.add("admin " + adminAddress);
            if (config.admin().browserClient()) {
                listening.add("browser client " + adminAddress + BrowserClient.PATH);
            }
        }
        ready = true;
        LOG.info("Courier ready: {}", String.join(", ", listening));
    }

    /**
     * The page, told where the WebSocket and long-polling transports listen (either may be
     * disabled); null when {@code admin.browser-client} is false.
     */
    private BrowserClient browserClient() {
        if (!config.admin().browserClient()) {
            return null;
        }
        TransportServer ws = transports.get("ws");
        TransportServer longPoll = transports.get("longpoll");
        if (ws == null && longPoll == null) {
            LOG.warn("admin.browser-client is on, but neither the ws nor the longpoll transport runs: the page at {} "
                + "will have nothing to connect to", BrowserClient.PATH);
        }
        return BrowserClient.load(ws == null ? null : ws.address(), longPoll == null ? null : longPoll.address(),
            mediaOrigins());
    }

    /**
     * Where the page fetches the files messages refer to: the media service's public URL, and the
     * S3 endpoint of a store that hands out its own URLs ({@code media.options.endpoint}).
     */
    private List<URI> mediaOrigins() {
        if (media == null) {
            return List.of();
        }
        List<URI> origins = new ArrayList<>();
        io.courier.media.MediaConfig m = config.media().config();
        if (m.publicUrl() != null) {
            origins.add(m.publicUrl());
        } else if (media.port() >= 0) {
            origins.add(URI.create("http://" + m.host() + ":" + media.port()));
        }
        String endpoint = m.storeOptions().get("endpoint");
        if (endpoint != null && !endpoint.isBlank()) {
            origins.add(URI.create(endpoint.strip()));
        }
        return origins;
    }

    /** What a person types to reach it: host:port for a bare stream address, the whole URI otherwise. */
    private static String shown(URI address) {
        boolean bare = address.getPath() == null || address.getPath().isEmpty();
        return bare ? address.getHost() + ":" + address.getPort() : address.toString();
    }

    /** One line saying what could not listen where, why, and which key to change. */
    private static String cannotListen(String what, String keyPrefix, ListenException e) {
        String address = e.host() + ":" + e.port();
        return switch (e.problem()) {
            case ADDRESS_IN_USE -> what + " cannot listen on " + address + ": address already in use; change "
                + keyPrefix + ".port, or stop what listens there";
            case NO_SUCH_ADDRESS -> what + " cannot listen on " + address + ": '" + e.host()
                + "' is not an address of this machine (or does not resolve); change " + keyPrefix + ".host";
            case PERMISSION_DENIED -> what + " cannot listen on " + address + ": permission denied (ports below 1024 "
                + "need privileges); change " + keyPrefix + ".port";
            case OTHER -> what + " cannot listen on " + address + ": " + e.detail() + "; check " + keyPrefix
                + ".host and " + keyPrefix + ".port";
        };
    }

    private static Authenticator authenticator(AuthenticatorProvider provider, ServerConfig config, StorageBackend storage,
                                               SignedInSessions signedIn) {
        Authenticator authenticator;
        try {
            authenticator = provider.create(new AuthenticatorContext(config.dataDirectory(), config.auth().options(),
                storage.revocations(), signedIn));
        } catch (IllegalArgumentException | IllegalStateException | UncheckedIOException e) {
            throw new ConfigException("auth.mode '" + provider.name() + "': " + e.getMessage());
        }
        LOG.info("Authentication: auth.mode '{}', {}", provider.name(),
            provider.describe(config.dataDirectory(), config.auth().options()));
        if (provider.name().equals("insecure")) {
            LOG.warn("**************************************************************************");
            LOG.warn("* auth.mode is 'insecure': ANY client may act as ANY user. Benchmarks only. *");
            LOG.warn("**************************************************************************");
        }
        return authenticator;
    }

    /** The address a client uses for transport {@code name}, with the bound port. */
    public URI address(String name) {
        TransportServer server = transports.get(name);
        if (server == null) {
            throw new IllegalArgumentException("Transport '" + name + "' is not running; running: " + transports.keySet());
        }
        return server.address();
    }

    /** Bytes waiting to be sent to the clients of transport {@code name}, summed over its connections. */
    public long unreadOutputBytes(String name) {
        TransportServer server = transports.get(name);
        if (server == null) {
            throw new IllegalArgumentException("Transport '" + name + "' is not running; running: " + transports.keySet());
        }
        return server.unreadOutputBytes();
    }

    /** The media service's HTTP port, or -1 when it does not run (disabled, or a store that serves its own URLs). */
    public int mediaPort() {
        return media == null ? -1 : media.port();
    }

    /** The media service, or null when {@code media.enabled} is false. */
    public MediaService media() {
        return media;
    }

    /** The admin endpoint's port, or -1 when disabled. */
    public int adminPort() {
        return admin == null ? -1 : admin.port();
    }

    public Router router() {
        return router;
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    public ServerConfig config() {
        return config;
    }

    /** What {@code /health} says after {@code ok}: a cluster node's id and whether its Redis is up. */
    private String health() {
        RedisClusterLink cluster = link;
        if (cluster == null) {
            return "";
        }
        return "cluster node " + cluster.nodeId() + ": redis " + (cluster.isConnected() ? "connected"
            : "unreachable (signals to and from other nodes wait until it is back)") + "\n";
    }

    /** The admission gate every transport shares: connections it holds, for tests and tools. */
    public int admittedConnections() {
        return gate == null ? 0 : gate.held();
    }

    /**
     * Graceful stop: transports stop accepting and close connections, the router commits what it
     * queued and writes last-seen times, storage closes. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<RuntimeException> failures = new ArrayList<>();
        for (TransportServer server : transports.values()) {
            run(server::close, failures);
        }
        if (gate != null) {
            run(gate::close, failures);
        }
        if (router != null) {
            run(router::close, failures);
        } else if (link != null) {
            run(link::close, failures);
        }
        if (media != null) {
            run(media::close, failures);
        }
        if (authenticator != null) {
            run(authenticator::close, failures);
        }
        if (storage != null) {
            run(storage::close, failures);
        }
        if (admin != null) {
            run(admin::close, failures);
        }
        registry.close();
        if (!failures.isEmpty()) {
            RuntimeException first = failures.get(0);
            failures.subList(1, failures.size()).forEach(first::addSuppressed);
            throw first;
        }
        // A server that never got ready only releases what it had opened: it never ran, so it did not stop.
        if (ready) {
            LOG.info("Courier stopped");
        }
    }

    private static void run(Runnable step, List<RuntimeException> failures) {
        try {
            step.run();
        } catch (RuntimeException e) {
            failures.add(e);
        }
    }
}
