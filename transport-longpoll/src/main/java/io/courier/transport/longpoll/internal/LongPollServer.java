package io.courier.transport.longpoll.internal;

import io.courier.transport.ConnectionGate;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.Frames;
import io.courier.transport.IoThreadErrors;
import io.courier.transport.ListenException;
import io.courier.transport.TransportException;
import io.courier.transport.TransportOptions;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.longpoll.LongPollTransportProvider;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.vertx.core.Vertx;
import io.courier.transport.netty.EventLoops;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.CorsHandler;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The long-polling server on Vert.x Web. See {@link io.courier.transport.longpoll.LongPollTransportProvider}. */
public final class LongPollServer implements TransportServer {

    private static final Logger LOG = LoggerFactory.getLogger(LongPollServer.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Random bytes in a session id: it names the session, in URLs that end up in logs. */
    private static final int ID_BYTES = 18;
    /** Random bytes in a session secret: it proves the request comes from whoever opened the session. */
    private static final int SECRET_BYTES = 32;
    private static final String SECRET_HEADER = LongPollTransportProvider.SECRET_HEADER;
    /** Where {@link #authorize} leaves the session for the handlers after it. */
    private static final String SESSION_KEY = "courier.session";

    private final TransportSettings settings;
    private final ConnectionHandler handler;
    private final String base;
    private final long pollTimeoutMs;
    private final long sessionTimeoutMs;
    private final int threads;
    private final long requestTimeoutMs;
    private final long keepAliveTimeoutMs;
    private final int maxUnreadOutputBytes;
    private final Map<String, LongPollSession> sessions = new ConcurrentHashMap<>();
    private final AtomicInteger open = new AtomicInteger();
    private Vertx vertx;
    /** Vert.x's transport for the {@code io} option's choice ({@link EventLoops}). */
    private final io.vertx.core.transport.Transport transport;
    private HttpServer server;
    private volatile URI address;
    private boolean closed;

    public LongPollServer(TransportSettings settings, ConnectionHandler handler) {
        this.settings = settings;
        this.handler = handler;
        this.base = LongPollTransportProvider.PATH.textIn(settings.options());
        this.pollTimeoutMs = LongPollTransportProvider.POLL_TIMEOUT_MS.intIn(settings.options());
        this.sessionTimeoutMs = LongPollTransportProvider.SESSION_TIMEOUT_MS.intIn(settings.options());
        this.threads = LongPollTransportProvider.THREADS.intIn(settings.options(), Runtime.getRuntime().availableProcessors());
        this.transport = switch (new EventLoops(settings).io()) {
            case IO_URING -> io.vertx.core.transport.Transport.IO_URING;
            case EPOLL -> io.vertx.core.transport.Transport.EPOLL;
            case NIO -> io.vertx.core.transport.Transport.NIO;
        };
        this.requestTimeoutMs = LongPollTransportProvider.REQUEST_TIMEOUT_MS.intIn(settings.options());
        this.keepAliveTimeoutMs = LongPollTransportProvider.KEEP_ALIVE_TIMEOUT_MS.intIn(settings.options());
        this.maxUnreadOutputBytes = TransportOptions.maxUnreadOutputBytes(settings, LongPollSession.HIGH_WATER_BYTES);
        if (!base.startsWith("/")) {
            throw new IllegalArgumentException("Option 'path' must start with '/', was '" + base + "'");
        }
        long idleLimit = handler.idleLimitMs();
        if (idleLimit > 0 && pollTimeoutMs >= idleLimit) {
            // A client that only waits on a held poll would be closed as idle while it waits.
            throw new IllegalArgumentException("Transport option 'poll-timeout-ms' (" + pollTimeoutMs
                + ") must be below the router's idle limit of " + idleLimit + " ms (router.heartbeat-interval-ms"
                + " x router.missed-heartbeats), or a client that only polls is closed while its poll is held");
        }
    }

    @Override
    public synchronized void start() {
        vertx = Vertx.builder().with(new VertxOptions().setEventLoopPoolSize(threads).setWorkerPoolSize(1))
            .withTransport(transport).build();
        Router router = Router.router(vertx);
        HttpDeadlines deadlines = new HttpDeadlines(vertx, handler, requestTimeoutMs, keepAliveTimeoutMs);
        // First, for every request: its deadlines, and what an Error thrown by any handler does.
        router.route().handler(deadlines::requestHead).failureHandler(this::ioThreadError);
        router.route().handler(cors());
        router.post(base + "/sessions").handler(this::open);
        router.post(base + "/sessions/:id/frames")
            // The secret is checked before the body is read (Vert.x runs a security-policy handler
            // before the body handler): whoever does not hold it may neither make the server buffer
            // a body nor end the session with an oversized one.
            .handler((io.vertx.ext.web.handler.SecurityPolicyHandler) this::authorize)
            .handler(BodyHandler.create(false).setBodyLimit(4L * settings.maxFrameBytes() + 1024))
            .handler(this::frames)
            .failureHandler(this::bodyFailure);
        router.get(base + "/sessions/:id/poll").handler(this::poll);
        router.delete(base + "/sessions/:id").handler(this::delete);
        server = vertx.createHttpServer(new HttpServerOptions().setHost(settings.host()).setPort(settings.port())
            .setTcpNoDelay(true)
            // HTTP/1.1 only: with h2c detection Vert.x makes no connection, and so starts no
            // deadline, until a client has sent bytes, which a silent one never does.
            .setHttp2ClearTextEnabled(false));
        server.connectionHandler(deadlines::opened);
        try {
            server.requestHandler(router).listen().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            close();
            throw ListenException.of("HTTP long polling", settings.host(), settings.port(),
                e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e);
        }
        address = URI.create("http://" + settings.host() + ":" + server.actualPort() + base);
        vertx.setPeriodic(1_000, t -> expire());
    }

    private CorsHandler cors() {
        CorsHandler cors = CorsHandler.create();
        for (String origin : LongPollTransportProvider.CORS_ORIGINS.textIn(settings.options()).split(",")) {
            if (!origin.isBlank()) {
                cors.addOrigin(origin.trim());
            }
        }
        return cors.allowedMethod(HttpMethod.GET).allowedMethod(HttpMethod.POST).allowedMethod(HttpMethod.DELETE)
            .allowedHeader("Content-Type").allowedHeader(SECRET_HEADER).exposedHeader("X-Courier-Cursor");
    }

    // ---------------------------------------------------------------- handlers (event loop)

    private void open(RoutingContext ctx) {
        boolean json = wantsJson(ctx);
        String key = randomText(ID_BYTES);
        String secret = randomText(SECRET_BYTES);
        io.vertx.core.net.SocketAddress peer = ctx.request().remoteAddress();
        InetSocketAddress remote = new InetSocketAddress(peer.host(), peer.port());
        ConnectionGate.Admission[] admission = new ConnectionGate.Admission[1];
        LongPollSession session = new LongPollSession(key, secret, json, vertx.getOrCreateContext(), vertx, handler,
            remote, pollTimeoutMs, settings.maxFrameBytes(), maxUnreadOutputBytes, () -> {
                sessions.remove(key);
                open.decrementAndGet();
                admission[0].release();
            });
        // A session is a connection: it counts against the server's limits from its creation.
        admission[0] = settings.gate().admit(remote.getAddress(), LongPollTransportProvider.NAME, session);
        if (!admission[0].admitted()) {
            admission[0].release();
            ctx.response().putHeader("Retry-After", "5");
            error(ctx, 503, Error.Code.TOO_MANY_CONNECTIONS, admission[0].refusal().getText(), json);
            return;
        }
        session.admitted(admission[0]);
        admission[0].opened();
        sessions.put(key, session);
        open.incrementAndGet();
        handler.onOpen(session);
        ctx.response().setStatusCode(201).putHeader("Content-Type", "application/json")
            .putHeader("Cache-Control", "no-store")
            .end("{\"session\":\"" + key + "\",\"secret\":\"" + secret + "\"}");
    }

    private static String randomText(int bytes) {
        byte[] random = new byte[bytes];
        RANDOM.nextBytes(random);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    }

    /** Lets a request for a session on to the next handler only if it names one and carries its secret. */
    private void authorize(RoutingContext ctx) {
        LongPollSession session = session(ctx);
        if (session != null) {
            ctx.put(SESSION_KEY, session);
            ctx.next();
        }
    }

    private void frames(RoutingContext ctx) {
        LongPollSession session = ctx.get(SESSION_KEY);
        byte[] body = ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
        boolean json = String.valueOf(ctx.request().getHeader("Content-Type")).startsWith("application/json");
        List<Frame> frames;
        try {
            frames = Bodies.decode(body, json, settings.maxFrameBytes());
        } catch (Bodies.BadBody bad) {
            Error.Code code = bad.tooLarge ? Error.Code.FRAME_TOO_LARGE : Error.Code.MALFORMED_FRAME;
            refuse(session, code, bad.getMessage());
            error(ctx, bad.tooLarge ? 413 : 400, code, bad.getMessage(), session.json);
            return;
        }
        // The router hears from a session only on the session's own context (its executor).
        session.executor().execute(() -> session.received(frames));
        ctx.response().setStatusCode(204).end();
    }

    /** A body above the limit is refused by Vert.x before our handler; it is still a Courier error. */
    private void bodyFailure(RoutingContext ctx) {
        LongPollSession session = ctx.get(SESSION_KEY);
        if (ctx.statusCode() == 413) {
            String text = "Request body above the limit of " + (4L * settings.maxFrameBytes() + 1024) + " bytes";
            if (session != null) {
                refuse(session, Error.Code.FRAME_TOO_LARGE, text);
            }
            error(ctx, 413, Error.Code.FRAME_TOO_LARGE, text, session != null && session.json);
        } else {
            ctx.next();
        }
    }

    /**
     * A handler threw an {@link java.lang.Error} (out of direct memory, …): the request's session, if
     * it names one, ends and its HTTP connection closes; the error is reported and, when not
     * recoverable, escalated ({@link IoThreadErrors}). Anything else goes to the next failure handler.
     */
    private void ioThreadError(RoutingContext ctx) {
        if (!(ctx.failure() instanceof java.lang.Error error)) {
            ctx.next();
            return;
        }
        String id = ctx.pathParam("id");
        LongPollSession session = id == null ? null : sessions.get(id);
        io.vertx.core.net.SocketAddress peer = ctx.request().remoteAddress();
        if (session != null) {
            session.executor().execute(() -> session.failed(error));
        } else {
            handler.onIoThreadError(LongPollTransportProvider.NAME, peer == null ? null
                : new InetSocketAddress(peer.host(), peer.port()), null, error);
        }
        ctx.request().connection().close();
        if (session == null) {
            IoThreadErrors.escalate(error);
        }
    }

    private void refuse(LongPollSession session, Error.Code code, String detail) {
        session.executor().execute(() -> {
            handler.onTransportError(session, code, detail);
            session.closeWithError(Frames.errorBody(code, detail, true));
        });
    }

    private void poll(RoutingContext ctx) {
        LongPollSession session = session(ctx);
        if (session == null) {
            return;
        }
        long cursor;
        try {
            cursor = Long.parseLong(ctx.request().getParam("cursor", "0"));
        } catch (NumberFormatException e) {
            error(ctx, 400, Error.Code.INVALID_ARGUMENT, "cursor must be a number", session.json);
            return;
        }
        session.executor().execute(() -> session.poll(ctx, cursor));
    }

    private void delete(RoutingContext ctx) {
        LongPollSession session = session(ctx);
        if (session != null) {
            session.executor().execute(session::finish);
            ctx.response().setStatusCode(204).end();
        }
    }

    /** The session the request names, if it exists and the request carries its secret; else answered 404 or 403. */
    private LongPollSession session(RoutingContext ctx) {
        LongPollSession session = sessions.get(ctx.pathParam("id"));
        if (session == null || session.isFinished()) {
            error(ctx, 404, Error.Code.NOT_AUTHENTICATED, "Unknown or expired session " + Frames.quote(ctx.pathParam("id"))
                + "; open a new one with POST " + base + "/sessions", wantsJson(ctx));
            return null;
        }
        if (!holdsSecret(ctx, session)) {
            forbidden(ctx, session);
            return null;
        }
        return session;
    }

    /**
     * Whether the request carries the session's secret. Compared in constant time, so the secret
     * cannot be found byte by byte from response times; the length is no secret.
     */
    private static boolean holdsSecret(RoutingContext ctx, LongPollSession session) {
        String presented = ctx.request().getHeader(SECRET_HEADER);
        return presented != null && MessageDigest.isEqual(presented.getBytes(StandardCharsets.UTF_8), session.secret);
    }

    /** 403 for a request without the session's secret. The session is not touched: no activity, no close. */
    private void forbidden(RoutingContext ctx, LongPollSession session) {
        boolean missing = ctx.request().getHeader(SECRET_HEADER) == null;
        LOG.info("Refused a request {} {} from {} for {}: {} {}", ctx.request().method(), ctx.request().path(),
            ctx.request().remoteAddress(), session, SECRET_HEADER, missing ? "missing" : "wrong");
        String text = missing
            ? "Request for session " + Frames.quote(session.key) + " carries no " + SECRET_HEADER
                + " header; send the secret that POST " + base + "/sessions answered with on every request"
            : SECRET_HEADER + " is not the secret of session " + Frames.quote(session.key);
        error(ctx, 403, Error.Code.AUTH_FAILED, text, session.json);
    }

    /**
     * Whether a request asks for JSON: {@code ?format=json}, a JSON Content-Type, or an Accept
     * header that names JSON and not Courier's protobuf frames. Decides a new session's format and
     * the body of a 404, which has no session to take it from.
     */
    private static boolean wantsJson(RoutingContext ctx) {
        String accept = String.valueOf(ctx.request().getHeader("Accept"));
        return "json".equals(ctx.request().getParam("format"))
            || String.valueOf(ctx.request().getHeader("Content-Type")).startsWith("application/json")
            || (accept.contains("application/json") && !accept.contains(LongPollTransportProvider.PROTO));
    }

    /** An HTTP error whose body is a Courier error frame in the session's encoding. */
    static void error(RoutingContext ctx, int status, Error.Code code, String text, boolean json) {
        Frame frame = Frames.error(code, text);
        ctx.response().setStatusCode(status)
            .putHeader("Content-Type", json ? "application/json" : LongPollTransportProvider.PROTO)
            .end(Buffer.buffer(Bodies.encode(List.of(frame), json)));
    }

    private void expire() {
        long cutoff = System.currentTimeMillis() - sessionTimeoutMs;
        for (LongPollSession session : sessions.values()) {
            session.executor().execute(() -> {
                if (session.isIdleSince(cutoff)) {
                    session.finish();
                }
            });
        }
    }

    // ---------------------------------------------------------------- TransportServer

    @Override
    public URI address() {
        URI bound = address;
        if (bound == null) {
            throw new IllegalStateException("The long-polling server is not started");
        }
        return bound;
    }

    @Override
    public int connectionCount() {
        return open.get();
    }

    /** What the sessions' outboxes hold that no poll has acknowledged, summed. */
    @Override
    public long unreadOutputBytes() {
        long sum = 0;
        for (LongPollSession session : sessions.values()) {
            sum += session.unreadOutputBytes();
        }
        return sum;
    }

    @Override
    public synchronized void close() {
        if (closed || vertx == null) {
            closed = true;
            return;
        }
        closed = true;
        java.util.concurrent.CountDownLatch finished = new java.util.concurrent.CountDownLatch(sessions.size());
        for (LongPollSession session : sessions.values()) {
            session.executor().execute(() -> {
                session.finish();
                finished.countDown();
            });
        }
        try {
            finished.await(10, TimeUnit.SECONDS);
            vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new TransportException("Closing the long-polling server failed: " + e.getMessage(), e);
        }
    }
}
