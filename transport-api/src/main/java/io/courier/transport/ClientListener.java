package io.courier.transport;

import io.courier.transport.proto.Frame;

/** Receives what a server sends on one client connection, in order, on one thread. */
public interface ClientListener {

    /** A frame arrived. Must not block. */
    void onFrame(Frame frame);

    /** The connection closed. Called once, last. */
    default void onClose() {
    }
}
