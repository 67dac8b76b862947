package io.courier.server;

import io.courier.router.Router;
import io.courier.router.auth.Authenticator;
import io.courier.router.auth.AuthenticatorProvider;
import io.courier.router.auth.AuthenticatorProviders;
import io.courier.server.internal.AdminServer;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.StorageProviders;
import io.courier.transport.TransportProvider;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
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
    private Router router;
    private AdminServer admin;
    private boolean closed;

    private CourierServer(ServerConfig config, Clock clock) {
        this.config = config;
        this.clock = clock;
    }

    /**
     * Opens storage, starts the router, binds every enabled transport and the admin endpoint.
     *
     * @throws ConfigException when a plug-in name is unknown (listing the known ones).
     * @throws io.courier.storage.StorageException when storage cannot be opened (naming where).
     * @throws io.courier.transport.TransportException when a port cannot be bound (naming it).
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
            server.close();
            throw e;
        }
        return server;
    }

    private void startAll() {
        Authenticator authenticator = authenticator(config);
        Map<String, TransportProvider> providers = new LinkedHashMap<>();
        for (String name : config.transports().keySet()) {
            try {
                providers.put(name, TransportProviders.find(name));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(e.getMessage() + " (key transports." + name + ")");
            }
        }
        try {
            storage = StorageProviders.find(config.storage().backend())
                .open(new StorageConfig(config.dataDirectory(), config.storage().options()));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
        LOG.info("Storage backend '{}' open (data directory {})", storage.name(), config.dataDirectory().toAbsolutePath());
        router = new Router(config.router(), storage, authenticator, registry, clock).start();
        for (Map.Entry<String, TransportProvider> e : providers.entrySet()) {
            ServerConfig.Transport t = config.transports().get(e.getKey());
            TransportServer server = e.getValue().createServer(
                new TransportSettings(t.host(), t.port(), config.maxFrameBytes(), t.options()), router);
            transports.put(e.getKey(), server);
            server.start();
            LOG.info("Transport '{}' listening on {}", e.getKey(), server.address());
        }
        if (config.admin().enabled()) {
            admin = AdminServer.start(config.admin().host(), config.admin().port(), registry);
            LOG.info("Metrics at http://{}:{}/metrics", config.admin().host(), admin.port());
        }
    }

    private static Authenticator authenticator(ServerConfig config) {
        AuthenticatorProvider provider;
        try {
            provider = AuthenticatorProviders.find(config.auth().mode());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
        if (provider.name().equals("insecure")) {
            LOG.warn("**************************************************************************");
            LOG.warn("* auth.mode is 'insecure': ANY client may act as ANY user. Benchmarks only. *");
            LOG.warn("**************************************************************************");
        }
        return provider.create(config.dataDirectory(), config.auth().options());
    }

    /** The address a client uses for transport {@code name}, with the bound port. */
    public URI address(String name) {
        TransportServer server = transports.get(name);
        if (server == null) {
            throw new IllegalArgumentException("Transport '" + name + "' is not running; running: " + transports.keySet());
        }
        return server.address();
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
        if (router != null) {
            run(router::close, failures);
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
        LOG.info("Courier stopped");
    }

    private static void run(Runnable step, List<RuntimeException> failures) {
        try {
            step.run();
        } catch (RuntimeException e) {
            failures.add(e);
        }
    }
}
