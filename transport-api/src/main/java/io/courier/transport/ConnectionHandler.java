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
