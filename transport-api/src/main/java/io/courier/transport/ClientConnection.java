package io.courier.transport;

import io.courier.transport.proto.Frame;
import java.util.concurrent.CompletableFuture;

/** A client's connection to a server. Thread-safe; no method blocks. */
public interface ClientConnection {

    /** Sends and flushes a frame. Ignored once closed. */
    void send(Frame frame);

    /**
     * Sends {@code encodedFrame} with this transport's framing but without any check of size or
     * content. For conformance tests and fuzzing: it lets a client send what a well-behaved one
     * never would (garbage, oversized frames) so the server's defences can be tested.
     */
    void sendUnchecked(byte[] encodedFrame);

    /** True until closed by either side. */
    boolean isOpen();

    /** Closes the connection. Idempotent. */
    void close();

    /** Completes once the connection is closed, by either side. */
    CompletableFuture<Void> closeFuture();
}
