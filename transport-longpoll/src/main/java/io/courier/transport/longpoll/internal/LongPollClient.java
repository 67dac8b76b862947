package io.courier.transport.longpoll.internal;

import io.courier.transport.ClientConnection;
import io.courier.transport.ClientListener;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportException;
import io.courier.transport.TransportSettings;
import io.courier.transport.longpoll.LongPollTransportProvider;
import io.courier.transport.proto.Frame;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import java.net.URI;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The long-polling client on Vert.x's HTTP client: one poll at a time per session, each
 * acknowledging what the previous one brought; sends queue up and go out one POST at a time, in
 * order, batching whatever queued while the previous POST was in flight.
 *
 * <p>Every session is bound to one event-loop context: its requests are issued there and their
 * responses come back there, so its {@link ClientListener} hears everything on that one thread,
 * in order, without a hand-off per response. Connections are kept alive and pooled per server
 * (no pipelining: a held poll must never hold up a POST queued behind it on the same connection),
 * with {@code TCP_NODELAY} set.
 *
 * <p>Client options (in {@link TransportSettings#options()}): {@code threads} (event loops, default
 * {@value #DEFAULT_THREADS}) and {@code max-connections} (pooled HTTP connections per server,
 * default {@value #DEFAULT_MAX_CONNECTIONS}; each session uses up to two at once, its held poll and
 * its POST, so a pool smaller than twice the sessions makes POSTs wait behind held polls).
 */
public final class LongPollClient implements TransportClient {

    private static final Logger LOG = LoggerFactory.getLogger(LongPollClient.class);
    private static final Pattern SESSION = Pattern.compile("\"session\"\\s*:\\s*\"([^\"]+)\"");
    private static final Pattern SECRET = Pattern.compile("\"secret\"\\s*:\\s*\"([^\"]+)\"");
    private static final String SECRET_HEADER = LongPollTransportProvider.SECRET_HEADER;
    private static final String PROTO = LongPollTransportProvider.PROTO;
    private static final String CURSOR = LongPollTransportProvider.CURSOR_HEADER;

    /** Event loops the client's sessions share. */
    static final int DEFAULT_THREADS = 2;
    /** Pooled connections per server: above two per session for thousands of sessions. */
    static final int DEFAULT_MAX_CONNECTIONS = 32_768;
    /** A poll is held by the server for its poll timeout (25 s by default); this is the client's patience. */
    private static final long POLL_IDLE_TIMEOUT_MS = TimeUnit.MINUTES.toMillis(2);
    private static final long REQUEST_TIMEOUT_MS = TimeUnit.SECONDS.toMillis(30);
    private static final int CONNECT_TIMEOUT_MS = 10_000;

    private final Vertx vertx;
    private final HttpClientAgent http;
    private final ContextInternal[] contexts;
    private final AtomicInteger nextContext = new AtomicInteger();
    private final int maxFrameBytes;
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    public LongPollClient(TransportSettings settings) {
        int threads = positive(settings, "threads", DEFAULT_THREADS);
        int maxConnections = positive(settings, "max-connections", DEFAULT_MAX_CONNECTIONS);
        this.maxFrameBytes = settings.maxFrameBytes();
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(threads).setWorkerPoolSize(1)
            .setInternalBlockingPoolSize(1));
        this.http = vertx.createHttpClient(new HttpClientOptions()
                .setProtocolVersion(HttpVersion.HTTP_1_1)
                .setTcpNoDelay(true)
                .setKeepAlive(true)
                .setPipelining(false)
                .setConnectTimeout(CONNECT_TIMEOUT_MS),
            new PoolOptions().setHttp1MaxSize(maxConnections));
        // One context per event loop; sessions are spread over them round-robin.
        this.contexts = new ContextInternal[threads];
        for (int i = 0; i < threads; i++) {
            contexts[i] = ((VertxInternal) vertx).createEventLoopContext();
        }
    }

    private static int positive(TransportSettings settings, String key, int fallback) {
        String value = settings.option(key, Integer.toString(fallback));
        try {
            int parsed = Integer.parseInt(value.trim());
            if (parsed > 0) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("Transport option '" + key + "' must be a positive integer, was '" + value + "'");
    }

    @Override
    public CompletableFuture<ClientConnection> connect(URI address, ClientListener listener) {
        boolean ssl = "https".equals(address.getScheme());
        if (!ssl && !"http".equals(address.getScheme()) || address.getHost() == null) {
            return CompletableFuture.failedFuture(new TransportException("Not a long-polling address: " + address
                + " (expected http://host:port/path)"));
        }
        if (closed) {
            return CompletableFuture.failedFuture(new TransportException("Cannot connect to " + address
                + ": this long-polling client is closed"));
        }
        Endpoint endpoint = new Endpoint(address.getHost(), address.getPort() >= 0 ? address.getPort() : ssl ? 443 : 80,
            ssl, address.getRawPath() == null ? "" : address.getRawPath());
        ContextInternal context = contexts[Math.floorMod(nextContext.getAndIncrement(), contexts.length)];
        CompletableFuture<ClientConnection> result = new CompletableFuture<>();
        context.runOnContext(v -> http.request(endpoint.request(HttpMethod.POST, "/sessions")
                .putHeader("Content-Type", PROTO).setTimeout(REQUEST_TIMEOUT_MS))
            .compose(request -> request.send())
            .compose(response -> response.body().map(body -> opened(address, response, body.toString())))
            .onComplete(ar -> {
                if (ar.failed()) {
                    Throwable failure = ar.cause();
                    result.completeExceptionally(failure instanceof TransportException ? failure
                        : new TransportException("Cannot connect to " + address + ": " + failure, failure));
                    return;
                }
                Session session = new Session(endpoint, endpoint.path + "/sessions/" + ar.result().id(),
                    ar.result().secret(), context, listener);
                sessions.add(session);
                session.pollNext();
                result.complete(session);
            }));
        return result;
    }

    /** What {@code POST /sessions} answers: the session's id (for URLs) and its secret (for a header). */
    private record Opened(String id, String secret) {
    }

    /** The session id and secret from a 201 answer to {@code POST /sessions}, or a failure naming the address. */
    private static Opened opened(URI address, HttpClientResponse response, String body) {
        Matcher id = SESSION.matcher(body);
        Matcher secret = SECRET.matcher(body);
        if (response.statusCode() != 201 || !id.find() || !secret.find()) {
            throw new TransportException("Cannot open a session at " + address + ": HTTP "
                + response.statusCode() + " " + body);
        }
        return new Opened(id.group(1), secret.group(1));
    }

    /**
     * Closes every session (a {@code DELETE} each, waiting a few seconds for the answers), then the
     * HTTP client and the event loops. Blocks; must not be called from a {@link ClientListener}.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<CompletableFuture<Void>> closing = new ArrayList<>();
        for (Session session : sessions) {
            session.close();
            closing.add(session.closeFuture());
        }
        try {
            CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new)).get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.debug("Not every long-polling session answered its DELETE in time: {}", e.toString());
        }
        try {
            http.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.warn("Closing the long-polling client's event loops failed: {}", e.toString());
        }
        // The event loops are gone: whoever is still open hears its close here, last.
        for (Session session : sessions) {
            session.ended();
        }
    }

    /** Where a server's sessions live. */
    private record Endpoint(String host, int port, boolean ssl, String path) {
        RequestOptions request(HttpMethod method, String suffix) {
            return uri(method, path + suffix);
        }

        RequestOptions uri(HttpMethod method, String uri) {
            return new RequestOptions().setMethod(method).setHost(host).setPort(port).setSsl(ssl).setURI(uri);
        }
    }

    /**
     * One session: its poll loop and its ordered send queue. Everything but {@link #enqueue} and
     * {@link #close()} runs on {@link #context}.
     */
    private final class Session implements ClientConnection {
        private final Endpoint endpoint;
        private final String uri;
        /** Sent with every request on the session; the id in {@link #uri} alone does not let anyone in. */
        private final String secret;
        private final ContextInternal context;
        private final ClientListener listener;
        private final CompletableFuture<Void> closed = new CompletableFuture<>();
        private volatile boolean ended;
        /** Encoded frames waiting for the next POST; guarded by itself, with {@link #posting}. */
        private final ArrayDeque<byte[]> queue = new ArrayDeque<>();
        private boolean posting;
        private boolean deleting;
        private long cursor;

        Session(Endpoint endpoint, String uri, String secret, ContextInternal context, ClientListener listener) {
            this.endpoint = endpoint;
            this.uri = uri;
            this.secret = secret;
            this.context = context;
            this.listener = listener;
        }

        void pollNext() {
            if (ended) {
                return;
            }
            http.request(endpoint.uri(HttpMethod.GET, uri + "/poll?cursor=" + cursor).putHeader(SECRET_HEADER, secret)
                    .setIdleTimeout(POLL_IDLE_TIMEOUT_MS))
                .compose(request -> request.send())
                .compose(response -> response.body().map(body -> response.statusCode() == 200 ? polled(response, body) : null))
                .onComplete(ar -> {
                    if (ar.failed() || ar.result() == null) {
                        if (ar.failed()) {
                            LOG.debug("Long poll of {} failed: {}", uri, ar.cause().toString());
                        }
                        ended();
                        return;
                    }
                    // After a fatal error the server sends nothing more: this poll acknowledges it and gets 410.
                    pollNext();
                });
        }

        /** Hands a poll's frames to the listener and moves the cursor; null if the body is bad. */
        private Boolean polled(HttpClientResponse response, Buffer body) {
            if (ended) {
                return null;
            }
            List<Frame> frames;
            try {
                frames = Bodies.decode(body.getBytes(), false, Integer.MAX_VALUE);
            } catch (Bodies.BadBody bad) {
                LOG.warn("Long poll of {} answered a body that does not decode ({}); closing", uri, bad.getMessage());
                return null;
            }
            for (Frame frame : frames) {
                listener.onFrame(frame);
            }
            String next = response.getHeader(CURSOR);
            if (next != null) {
                cursor = Long.parseLong(next);
            }
            return Boolean.TRUE;
        }

        @Override
        public void send(Frame frame) {
            enqueue(frame.toByteArray());
        }

        @Override
        public void sendUnchecked(byte[] encodedFrame) {
            enqueue(encodedFrame);
        }

        private void enqueue(byte[] frame) {
            synchronized (queue) {
                if (ended) {
                    return;
                }
                queue.addLast(frame);
                if (posting) {
                    return;
                }
                posting = true;
            }
            onContext(this::postQueued);
        }

        private void postQueued() {
            Buffer body;
            synchronized (queue) {
                body = Buffer.buffer(Math.min(maxFrameBytes, 256));
                while (!queue.isEmpty() && body.length() < maxFrameBytes) {
                    writeRaw(body, queue.pollFirst());
                }
            }
            http.request(endpoint.uri(HttpMethod.POST, uri + "/frames").putHeader("Content-Type", PROTO)
                    .putHeader(SECRET_HEADER, secret).setTimeout(REQUEST_TIMEOUT_MS))
                .compose(request -> request.send(body))
                .compose(HttpClientResponse::body)
                .onComplete(ar -> {
                    boolean more;
                    synchronized (queue) {
                        more = ar.succeeded() && !queue.isEmpty() && !ended;
                        posting = more;
                        if (ar.failed()) {
                            queue.clear();
                        }
                    }
                    if (ar.failed()) {
                        LOG.debug("POST of frames to {} failed: {}", uri, ar.cause().toString());
                    }
                    if (more) {
                        postQueued();
                    }
                });
        }

        @Override
        public boolean isOpen() {
            return !ended;
        }

        @Override
        public void close() {
            onContext(() -> {
                if (ended || deleting) {
                    return;
                }
                deleting = true;
                Future<?> delete = http.request(endpoint.uri(HttpMethod.DELETE, uri).putHeader(SECRET_HEADER, secret)
                        .setTimeout(REQUEST_TIMEOUT_MS))
                    .compose(request -> request.send())
                    .compose(HttpClientResponse::body);
                delete.onComplete(ar -> ended());
            });
        }

        /** Runs {@code task} on the session's context: at once when already there (a listener answering). */
        private void onContext(Runnable task) {
            if (context.isRunningOnContext()) {
                task.run();
            } else {
                context.runOnContext(v -> task.run());
            }
        }

        /** Called once per session, on its context (or, after the event loops closed, by {@link LongPollClient#close()}). */
        void ended() {
            synchronized (queue) {
                if (ended) {
                    return;
                }
                ended = true;
                queue.clear();
            }
            sessions.remove(this);
            try {
                listener.onClose();
            } finally {
                closed.complete(null);
            }
        }

        @Override
        public CompletableFuture<Void> closeFuture() {
            return closed;
        }
    }

    /** A varint32 length, then the frame's bytes: the framing of {@code application/x-courier-frames}. */
    private static void writeRaw(Buffer out, byte[] encodedFrame) {
        int length = encodedFrame.length;
        while ((length & ~0x7F) != 0) {
            out.appendByte((byte) ((length & 0x7F) | 0x80));
            length >>>= 7;
        }
        out.appendByte((byte) length);
        out.appendBytes(encodedFrame);
    }
}
