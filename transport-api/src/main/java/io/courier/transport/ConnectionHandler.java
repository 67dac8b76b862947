package io.courier.transport;

import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;

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
     * The transport refused input on its own (undecodable bytes, an oversized frame) and is about
     * to send {@code code} to the peer and close. For metrics and logs; the transport does the rest.
     */
    default void onTransportError(Connection connection, Error.Code code, String detail) {
    }

    /** The connection is closed, by either side. Called exactly once, last. */
    void onClose(Connection connection);
}
