package io.courier.server.internal;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.courier.transport.ListenException;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

/**
 * The admin endpoint: {@code GET /metrics} (Prometheus text format), {@code GET /health}, and, when
 * given one, the browser client under {@code /app/} ({@link BrowserClient}; {@code /} redirects
 * there).
 */
public final class AdminServer implements AutoCloseable {

    private final HttpServer server;

    private AdminServer(HttpServer server) {
        this.server = server;
    }

    /**
     * @param browserClient the browser client to serve, or null for none.
     * @throws ListenException when the address cannot be bound, saying why.
     */
    public static AdminServer start(String host, int port, PrometheusMeterRegistry registry, BrowserClient browserClient) {
        return start(host, port, registry, browserClient, () -> "");
    }

    /**
     * @param browserClient the browser client to serve, or null for none.
     * @param health        more lines for {@code /health} after its {@code ok} (a cluster node's
     *                      Redis connection), or "" for none.
     * @throws ListenException when the address cannot be bound, saying why.
     */
    public static AdminServer start(String host, int port, PrometheusMeterRegistry registry, BrowserClient browserClient,
                                    java.util.function.Supplier<String> health) {
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(host, port), 16);
        } catch (IOException | RuntimeException e) {
            throw ListenException.of("the admin endpoint", host, port, e);
        }
        server.createContext("/metrics", exchange -> respond(exchange, 200,
            "text/plain; version=0.0.4; charset=utf-8", registry.scrape()));
        // 200 whenever the process serves: a node whose Redis is away still serves its own devices.
        server.createContext("/health", exchange -> respond(exchange, 200, "text/plain", "ok\n" + health.get()));
        if (browserClient != null) {
            // "/" is the context of every path no other context takes: the handler redirects "/" and 404s the rest.
            server.createContext("/", browserClient);
        }
        // Two threads: a browser loading the page's files does not hold up a metrics scrape for long.
        server.setExecutor(Executors.newFixedThreadPool(2, r -> {
            Thread thread = new Thread(r, "courier-admin");
            thread.setDaemon(true);
            return thread;
        }));
        server.start();
        return new AdminServer(server);
    }

    private static void respond(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}
