package io.courier.server.internal;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The browser client: a fixed set of static files from the class path ({@code courier-browser/})
 * under {@link #PATH}, and {@code /app/config.json}, which tells the page where the WebSocket and
 * long-polling transports listen. The files are plain ES modules run as they are: there is no build
 * step, so what is in the repository is what the browser runs.
 *
 * <p>Only the names listed here are served (nothing is looked up from the request path), each with
 * its content type, {@code no-cache} (a new server version is picked up on the next load, while a
 * service worker may still open the page when the server is unreachable) and {@code nosniff}.
 */
public final class BrowserClient implements HttpHandler {

    /** Where the page is served on the admin endpoint. */
    public static final String PATH = "/app/";

    private static final String RESOURCES = "/courier-browser/";
    private static final String JS = "text/javascript; charset=utf-8";
    private static final Map<String, String> FILES = files();

    private final Map<String, byte[]> content;
    private final URI websocket;
    private final URI longPolling;
    private final java.util.List<URI> mediaOrigins;

    private BrowserClient(Map<String, byte[]> content, URI websocket, URI longPolling,
                          java.util.List<URI> mediaOrigins) {
        this.content = content;
        this.websocket = websocket;
        this.longPolling = longPolling;
        this.mediaOrigins = mediaOrigins;
    }

    private static Map<String, String> files() {
        Map<String, String> files = new LinkedHashMap<>();
        files.put("index.html", "text/html; charset=utf-8");
        files.put("style.css", "text/css; charset=utf-8");
        files.put("app.js", JS);
        files.put("client.js", JS);
        files.put("store.js", JS);
        files.put("transports.js", JS);
        files.put("e2e.js", JS);
        files.put("secure.js", JS);
        files.put("sw.js", JS);
        return Map.copyOf(files);
    }

    /**
     * Reads the page's files from the class path.
     *
     * @param websocket   the {@code ws} transport's address, or null when it does not run.
     * @param longPolling the {@code longpoll} transport's address, or null when it does not run.
     * @throws IllegalStateException when a file is missing from the jar (a broken build).
     */
    public static BrowserClient load(URI websocket, URI longPolling) {
        return load(websocket, longPolling, java.util.List.of());
    }

    /**
     * Reads the page's files from the class path; the page may also fetch from {@code mediaOrigins}
     * (the media service's public URL, an S3 endpoint): where the files messages refer to are.
     */
    public static BrowserClient load(URI websocket, URI longPolling, java.util.List<URI> mediaOrigins) {
        Map<String, byte[]> content = new LinkedHashMap<>();
        for (String name : FILES.keySet()) {
            try (InputStream in = BrowserClient.class.getResourceAsStream(RESOURCES + name)) {
                if (in == null) {
                    throw new IllegalStateException(RESOURCES + name + " is missing from the class path; rebuild the server jar");
                }
                content.put(name, in.readAllBytes());
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read " + RESOURCES + name + " from the class path", e);
            }
        }
        return new BrowserClient(Map.copyOf(content), websocket, longPolling, java.util.List.copyOf(mediaOrigins));
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                send(exchange, 405, "text/plain; charset=utf-8", bytes(method + " is not allowed here; use GET\n"));
                return;
            }
            String path = exchange.getRequestURI().getRawPath();
            if (path.equals("/") || path.equals("/app")) {
                exchange.getResponseHeaders().set("Location", PATH);
                send(exchange, 302, "text/plain; charset=utf-8", bytes("The browser client is at " + PATH + "\n"));
                return;
            }
            String name = path.startsWith(PATH) ? path.substring(PATH.length()) : null;
            if (name != null && name.isEmpty()) {
                name = "index.html";
            }
            if ("config.json".equals(name)) {
                send(exchange, 200, "application/json", bytes(config(exchange)));
            } else if (name != null && FILES.containsKey(name)) {
                if (name.equals("index.html")) {
                    exchange.getResponseHeaders().set("Content-Security-Policy", contentSecurityPolicy(exchange));
                }
                send(exchange, 200, FILES.get(name), content.get(name));
            } else {
                send(exchange, 404, "text/plain; charset=utf-8",
                    bytes("Not found: " + path + ". The browser client is at " + PATH + ", metrics at /metrics\n"));
            }
        }
    }

    /** Where the transports listen, as the page must dial them. */
    private String config(HttpExchange exchange) {
        return "{\"websocket\":" + quoted(reachable(websocket, exchange))
            + ",\"longPolling\":" + quoted(reachable(longPolling, exchange)) + "}";
    }

    /**
     * The page may only connect to its own origin, the two transports and the media origins: no
     * other server can be reached from it, whatever a message's content does. Images are shown from
     * {@code blob:} URLs of files the page fetched and checked.
     */
    private String contentSecurityPolicy(HttpExchange exchange) {
        StringBuilder connect = new StringBuilder("'self'");
        for (URI address : new URI[] {reachable(websocket, exchange), reachable(longPolling, exchange)}) {
            if (address != null) {
                connect.append(' ').append(address.getScheme()).append("://").append(address.getRawAuthority());
            }
        }
        for (URI origin : mediaOrigins) {
            URI address = reachable(origin, exchange);
            connect.append(' ').append(address.getScheme()).append("://").append(address.getRawAuthority());
        }
        return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; worker-src 'self'; "
            + "manifest-src 'self'; connect-src " + connect + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    }

    /**
     * A transport bound to a wildcard address (0.0.0.0, ::) is reached on whatever host name the
     * browser used to reach this page; any other address is given as it is bound.
     */
    private static URI reachable(URI address, HttpExchange exchange) {
        if (address == null || !isWildcard(address.getHost())) {
            return address;
        }
        String host = exchange.getRequestHeaders().getFirst("Host");
        String name = host == null ? "127.0.0.1" : hostName(host);
        return URI.create(address.getScheme() + "://" + name + ":" + address.getPort() + address.getRawPath());
    }

    private static boolean isWildcard(String host) {
        if (host == null || host.isEmpty()) {
            return false;
        }
        try {
            String literal = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
            return (literal.contains(":") || Character.isDigit(literal.charAt(0)))
                && InetAddress.getByName(literal).isAnyLocalAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** The host of a Host header, without its port: {@code [::1]:7190} is {@code [::1]}. */
    private static String hostName(String hostHeader) {
        if (hostHeader.startsWith("[")) {
            int end = hostHeader.indexOf(']');
            return end < 0 ? hostHeader : hostHeader.substring(0, end + 1);
        }
        int colon = hostHeader.indexOf(':');
        return colon < 0 ? hostHeader : hostHeader.substring(0, colon);
    }

    private static String quoted(URI address) {
        if (address == null) {
            return "null";
        }
        // A URI holds no quote, backslash or control character: nothing to escape.
        return "\"" + address.toString() + "\"";
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static void send(HttpExchange exchange, int status, String contentType, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.getResponseHeaders().set("Cache-Control", "no-cache");
        exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        exchange.getResponseHeaders().set("Referrer-Policy", "no-referrer");
        if (exchange.getRequestMethod().equals("HEAD")) {
            exchange.sendResponseHeaders(status, -1);
            return;
        }
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }
}
