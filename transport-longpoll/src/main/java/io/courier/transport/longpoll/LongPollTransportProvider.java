package io.courier.transport.longpoll;

import io.courier.plugin.PluginOption;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportProvider;
import io.courier.transport.TransportOptions;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.longpoll.internal.LongPollClient;
import io.courier.transport.longpoll.internal.LongPollServer;
import java.util.List;

/**
 * The {@code longpoll} transport: HTTP long polling on Vert.x Web, for clients that can only make
 * plain HTTP requests.
 *
 * <pre>
 *  POST   /lp/sessions                  open a session          → {"session":"ID","secret":"S"}
 *  POST   /lp/sessions/ID/frames        client frames           → 204
 *  GET    /lp/sessions/ID/poll?cursor=N frames after N, held    → 200 frames, X-Courier-Cursor: M
 *                                       until there are some or the poll timeout passes
 *  DELETE /lp/sessions/ID               close                   → 204
 * </pre>
 *
 * Every request on a session carries its secret in {@value #SECRET_HEADER}: the id travels in
 * URLs, which proxies and logs keep, so it names the session but does not let anyone use it. A
 * request with a missing or wrong secret gets 403 and leaves the session as it was.
 *
 * Bodies are frames in one of two encodings, chosen by {@code Content-Type} (and, for polls, by
 * the session's encoding): {@code application/x-courier-frames} — each frame a varint32 length and
 * the protobuf bytes, as on TCP — or {@code application/json} — a JSON array of frames in
 * protobuf's JSON mapping. The cursor acknowledges every frame up to it: frames after it stay
 * buffered and are sent again on the next poll, so a response lost in flight loses nothing.
 *
 * <p>A poll is the client's sign of life: its arrival and its answer each count as a heartbeat, so
 * a client that keeps a poll outstanding needs no {@code Heartbeat} frames. That holds because a
 * poll is held for at most {@code poll-timeout-ms}, which the server refuses to set at or above
 * the router's idle limit ({@link ConnectionHandler#idleLimitMs()}).
 *
 * <p>Server options ({@link #options()}, defaults there): {@code path}, {@code poll-timeout-ms},
 * {@code session-timeout-ms} (a session with no poll for this long is closed),
 * {@code cors-origins}, {@code threads} (event loops), {@code request-timeout-ms} and
 * {@code keep-alive-timeout-ms} (total deadlines on each HTTP connection: a slowly dribbled request
 * or an idle keep-alive connection is closed, whatever session it carries), and
 * {@code max-unread-output-bytes} (frames no poll has acknowledged; a client that stops collecting
 * them is closed with {@code SLOW_CONSUMER}).
 *
 * <p>Server option {@code io}: Vert.x on io_uring, epoll or NIO as {@code EventLoops} of
 * courier-transport-netty chooses (epoll where it loads, by default).
 *
 * <p>Client options: {@code threads} (event loops the sessions share; 2) and
 * {@code max-connections} (pooled keep-alive HTTP connections per server; 32768). A session uses up
 * to two connections at once, its held poll and its POST, so keep the pool above twice the
 * sessions one client opens, or POSTs wait behind held polls.
 */
public final class LongPollTransportProvider implements TransportProvider {

    /** The name configuration selects this transport by. */
    public static final String NAME = "longpoll";

    /** Length-prefixed protobuf frames. */
    public static final String PROTO = "application/x-courier-frames";

    /** A JSON array of frames. */
    public static final String JSON = "application/json";

    /** The response header carrying the cursor to send with the next poll. */
    public static final String CURSOR_HEADER = "X-Courier-Cursor";

    /**
     * The request header carrying the session's secret, which {@code POST /sessions} answers with
     * beside the id. Never in the URL.
     */
    public static final String SECRET_HEADER = "X-Courier-Session-Secret";

    /** {@code path}: the base path. */
    public static final PluginOption PATH = PluginOption.text("path", "/lp", "base path");
    /** {@code poll-timeout-ms}: how long an empty poll is held. */
    public static final PluginOption POLL_TIMEOUT_MS = PluginOption.positiveInt("poll-timeout-ms", 10_000,
        "how long an empty poll is held; below the router's idle limit, since a poll is the client's heartbeat");
    /** {@code session-timeout-ms}: an unpolled session's lifetime. */
    public static final PluginOption SESSION_TIMEOUT_MS = PluginOption.positiveInt("session-timeout-ms", 60_000,
        "a session nobody polls for this long is closed");
    /** {@code cors-origins}: browser origins allowed by CORS. */
    public static final PluginOption CORS_ORIGINS = PluginOption.text("cors-origins", "*",
        "comma-separated browser origins allowed by CORS (`*`: any)");
    /** {@code threads}: Vert.x event loops of the server. */
    public static final PluginOption THREADS = PluginOption.positiveInt("threads", "Vert.x event loops; CPU cores");
    /** {@code request-timeout-ms}: the total time a request may take to arrive. */
    public static final PluginOption REQUEST_TIMEOUT_MS = PluginOption.positiveInt("request-timeout-ms", 10_000,
        "a new HTTP connection must deliver a request head this soon, and every request its body this soon after "
            + "its head, however slowly the bytes trickle in; else 408 (body) or closed");
    /** {@code keep-alive-timeout-ms}: how long an idle keep-alive connection stays open. */
    public static final PluginOption KEEP_ALIVE_TIMEOUT_MS = PluginOption.positiveInt("keep-alive-timeout-ms", 15_000,
        "an HTTP connection with no request in progress and no answer pending is closed after this long "
            + "(its sessions live on)");

    private static final List<PluginOption> OPTIONS = List.of(io.courier.transport.netty.EventLoops.IO,
        io.courier.transport.netty.EventLoops.EPOLL, PATH, POLL_TIMEOUT_MS, SESSION_TIMEOUT_MS, CORS_ORIGINS,
        THREADS, REQUEST_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, TransportOptions.MAX_UNREAD_OUTPUT_BYTES);

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<PluginOption> options() {
        return OPTIONS;
    }

    /** @throws IllegalArgumentException when an option is malformed, naming it. */
    @Override
    public TransportServer createServer(TransportSettings settings, ConnectionHandler handler) {
        return new LongPollServer(settings, handler);
    }

    @Override
    public TransportClient createClient(TransportSettings settings) {
        return new LongPollClient(settings);
    }
}
