package io.courier.transport;

import io.courier.transport.proto.Frame;
import java.net.SocketAddress;
import java.util.concurrent.Executor;

/**
 * The server's view of one client connection.
 *
 * <p>Every connection is served by one I/O thread, its {@link #executor()}: handler callbacks for
 * the connection run there, in order. {@link #send}, {@link #close} and {@link #closeWithError} may
 * be called from any thread and never block; {@link #write} and {@link #flush} are for the I/O
 * thread, where a drain loop writes many frames and flushes once.
 */
public interface Connection {

    /** Unique within the server process. */
    long id();

    /** The transport's {@link TransportProvider#name()}. */
    String transport();

    /** The peer's address, for logs. */
    SocketAddress remoteAddress();

    /**
     * The largest encoded frame this connection accepts from its peer, announced to the client in
     * {@code Welcome.max_frame_bytes}; 0 when the transport does not say.
     */
    default int maxFrameBytes() {
        return 0;
    }

    /**
     * Writes and flushes a frame. Thread-safe, never blocks; ignored once closed. By default this
     * is {@link #write} and {@link #flush} on {@link #executor()}; transports with a cheaper
     * thread-safe write (Netty's {@code writeAndFlush}) override it.
     */
    default void send(Frame frame) {
        if (inExecutor()) {
            write(frame);
            flush();
        } else {
            executor().execute(() -> {
                write(frame);
                flush();
            });
        }
    }

    /** Writes a frame without flushing. Call on {@link #executor()} only. */
    void write(Frame frame);

    /** Flushes what {@link #write} queued. Call on {@link #executor()} only. */
    void flush();

    /**
     * False while the transport's outbound buffer is above its high-water mark. The router stops
     * draining the session's mailbox until {@link ConnectionHandler#onWritabilityChanged} reports
     * writable again: that is back-pressure, not loss.
     */
    boolean isWritable();

    /** True until the connection is closed by either side. */
    boolean isOpen();

    /** Closes after flushing what was written. Idempotent. */
    void close();

    /** Sends {@code error} (with {@code fatal} set), flushes, then closes. Idempotent. */
    void closeWithError(io.courier.transport.proto.Error error);

    /**
     * The router calls this once the connection said a valid hello. A transport that admits
     * connections through a {@link ConnectionGate} passes it on to the connection's
     * {@link ConnectionGate.Admission#authenticated()}, so that the gate never evicts this
     * connection to make room for a newcomer. Any thread; idempotent. Nothing by default.
     */
    default void markAuthenticated() {
    }

    /**
     * Stops ({@code false}) or resumes ({@code true}) reading frames from the peer: the router's
     * back-pressure while storage is behind, so that a burst waits in the peer's socket buffers
     * (and then its own) instead of being refused. Frames already read are still handled. Any
     * thread; idempotent. By default nothing: such a transport's frames are refused with
     * {@code OVERLOADED} once the writer is full, and the peer sends them again.
     */
    default void setReading(boolean reading) {
    }

    /** The connection's I/O thread. Tasks run in submission order, never concurrently. */
    Executor executor();

    /** True when the caller runs on {@link #executor()}. */
    boolean inExecutor();

    /** The object the handler attached (the router's session), or null. */
    Object attachment();

    /** Attaches the handler's per-connection state. Call on {@link #executor()}. */
    void attach(Object attachment);
}
