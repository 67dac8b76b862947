package io.courier.transport.longpoll.internal;

import io.courier.transport.ConnectionHandler;
import io.courier.transport.longpoll.LongPollTransportProvider;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Total deadlines on the long-polling server's HTTP connections, so that no connection stays open
 * for a client that sends slowly or not at all — a deadline, not an idle timer, which bytes
 * trickling in would reset:
 * <ul>
 *   <li>a new connection must deliver the head of a request (request line and headers) within
 *       {@code request-timeout-ms} of opening, else it is closed;</li>
 *   <li>every request must deliver its body within {@code request-timeout-ms} of its head, else it
 *       is answered 408 and the connection closed;</li>
 *   <li>a connection with no request in progress and no answer pending — between requests, or
 *       after the last — must start the head of the next within {@code keep-alive-timeout-ms} and
 *       finish it before that time is up, else it is closed, whatever session it carried (sessions
 *       live on: they are not tied to one HTTP connection).</li>
 * </ul>
 * A held poll is a request fully received, waiting for its answer: no deadline runs while it is
 * held (its own limit is {@code poll-timeout-ms}), and the keep-alive deadline starts once it is
 * answered.
 *
 * <p>Each connection's state lives on its event loop: the handlers below run there, and so do the
 * timers they set.
 */
final class HttpDeadlines {

    private final Vertx vertx;
    private final ConnectionHandler handler;
    private final long requestTimeoutMs;
    private final long keepAliveTimeoutMs;
    private final Map<HttpConnection, Deadline> deadlines = new ConcurrentHashMap<>();

    HttpDeadlines(Vertx vertx, ConnectionHandler handler, long requestTimeoutMs, long keepAliveTimeoutMs) {
        this.vertx = vertx;
        this.handler = handler;
        this.requestTimeoutMs = requestTimeoutMs;
        this.keepAliveTimeoutMs = keepAliveTimeoutMs;
    }

    /** A connection opened: the server's connection handler. */
    void opened(HttpConnection connection) {
        Deadline deadline = new Deadline(connection);
        deadlines.put(connection, deadline);
        connection.closeHandler(v -> {
            Deadline gone = deadlines.remove(connection);
            if (gone != null) {
                gone.closed();
            }
        });
        deadline.await(null, requestTimeoutMs, "No request within " + requestTimeoutMs + " ms of connecting ("
            + key(LongPollTransportProvider.REQUEST_TIMEOUT_MS.name()) + ")");
    }

    /** A request's head arrived: the first route's handler, which passes the request on. */
    void requestHead(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        Deadline deadline = deadlines.get(request.connection());
        if (deadline != null) {
            deadline.current = request;
            deadline.await(request, requestTimeoutMs, "Request body not received within " + requestTimeoutMs
                + " ms of its head (" + key(LongPollTransportProvider.REQUEST_TIMEOUT_MS.name()) + ")");
            ctx.addEndHandler(ended -> deadline.answered(request));
        }
        ctx.next();
    }

    /** Connections being watched (for tests: each closed connection is forgotten). */
    int watched() {
        return deadlines.size();
    }

    private static String key(String option) {
        return "transports." + LongPollTransportProvider.NAME + ".options." + option;
    }

    /** One connection's deadline: one timer at a time, re-armed as requests come and are answered. */
    private final class Deadline {
        private final HttpConnection connection;
        private HttpServerRequest current;
        private long timer = -1;
        private boolean closed;

        Deadline(HttpConnection connection) {
            this.connection = connection;
        }

        /**
         * Arms the deadline: when it passes, the connection is closed unless {@code request} (null:
         * "no request") has been received whole by then, or another request came meanwhile.
         */
        void await(HttpServerRequest request, long ms, String detail) {
            cancel();
            if (closed) {
                return;
            }
            timer = vertx.setTimer(ms, t -> {
                timer = -1;
                if (current != request) {
                    return;
                }
                if (request == null) {
                    expire(detail);
                } else if (!request.isEnded()) {
                    // The head is in: answer before closing, so a slow but honest client learns why.
                    request.response().setStatusCode(408).putHeader("Connection", "close").end();
                    expire(detail);
                }
            });
        }

        void answered(HttpServerRequest request) {
            if (current == request) {
                current = null;
                await(null, keepAliveTimeoutMs, "Idle for " + keepAliveTimeoutMs + " ms with no request ("
                    + key(LongPollTransportProvider.KEEP_ALIVE_TIMEOUT_MS.name()) + ")");
            }
        }

        void cancel() {
            if (timer >= 0) {
                vertx.cancelTimer(timer);
                timer = -1;
            }
        }

        /** The connection closed: no deadline for it any more (an answer ending with it arms none). */
        void closed() {
            closed = true;
            cancel();
        }

        private void expire(String detail) {
            io.vertx.core.net.SocketAddress peer = connection.remoteAddress();
            handler.onTransportTimeout(LongPollTransportProvider.NAME,
                peer == null ? null : new InetSocketAddress(peer.host(), peer.port()), detail);
            connection.close();
        }
    }
}
