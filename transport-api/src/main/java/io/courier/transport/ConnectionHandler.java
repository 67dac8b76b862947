package io.courier.transport;

import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import java.net.SocketAddress;

/**
 * What a transport calls as connections come, speak and go; the router implements it.
 *
 * <p>All callbacks for one connection run on that connection's {@link Connection#executor()},
 * in order, and must not block: hand slow work (storage) to another executor.
 */
public interface ConnectionHandler {

    /** A connection was accepted. Called once, before any other callback for it. */
    void onOpen(Connection connection);

    /** A complete, well-formed frame arrived. */
    void onFrame(Connection connection, Frame frame);

    /**
     * The peer showed it is alive without sending a frame: a long poll arrived or was answered.
     * The router counts it like a heartbeat for an authenticated connection and ignores it before
     * hello. Transports whose frames are the only sign of life never call it.
     */
    default void onActivity(Connection connection) {
    }

    /**
     * How long an authenticated connection may stay silent (no frame, no {@link #onActivity})
     * before the handler closes it, in milliseconds; 0 when there is no limit. A transport that
     * holds requests open (long polling) must keep each hold below it, or a client that only waits
     * would be closed while it waits.
     */
    default long idleLimitMs() {
        return 0;
    }

    /** {@link Connection#isWritable()} changed. */
    default void onWritabilityChanged(Connection connection) {
    }

    /**
     * The transport refused input on its own (undecodable bytes, an oversized frame), or found the
     * peer stopped reading ({@code SLOW_CONSUMER}: more than {@code max-unread-output-bytes} wait
     * for it), and is about to send {@code code} to the peer and close. For metrics and logs; the transport does the rest.
     */
    default void onTransportError(Connection connection, Error.Code code, String detail) {
    }

    /**
     * A {@link java.lang.Error} was thrown while the transport served a connection on its I/O
     * thread (out of direct memory, a stack overflow, …). The transport closes the connection right
     * after this call and, when the error is not recoverable, escalates it: see
     * {@link IoThreadErrors}. Called at most once per connection; for metrics and the log.
     *
     * @param transport  the transport's name.
     * @param remote     the peer's address, or null when the failure is not one peer's (the UDP
     *                   server's shared socket).
     * @param connection the connection, or null when it had not opened yet (a WebSocket upgrade
     *                   in progress, a datagram handshake); then {@code onClose} does not follow.
     * @param error      what was thrown.
     */
    default void onIoThreadError(String transport, SocketAddress remote, Connection connection, Throwable error) {
    }

    /**
     * The transport closed a network connection that is not, or not yet, a {@link Connection}
     * because it took too long to do what it must first: a WebSocket upgrade not completed within
     * its deadline, an HTTP request not received in time, an idle HTTP keep-alive connection. For
     * metrics and logs; the transport has closed it. The peer controls how often this happens.
     *
     * @param transport the transport's name.
     * @param remote    the peer's address.
     * @param detail    what took too long, naming the limit.
     */
    default void onTransportTimeout(String transport, SocketAddress remote, String detail) {
    }

    /** The connection is closed, by either side. Called exactly once, last. */
    void onClose(Connection connection);
}
