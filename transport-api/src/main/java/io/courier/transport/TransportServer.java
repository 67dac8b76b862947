package io.courier.transport;

import java.net.URI;

/** The listening side of a transport. Not reusable: start once, close once. */
public interface TransportServer extends AutoCloseable {

    /**
     * Binds and starts accepting connections. Blocks until bound.
     *
     * @throws TransportException when the address cannot be bound; the message names it.
     */
    void start();

    /**
     * The address clients pass to {@link TransportClient#connect}, with the actual port once
     * started (useful with port 0), e.g. {@code tcp://127.0.0.1:7100}.
     */
    URI address();

    /** Connections currently open. */
    int connectionCount();

    /**
     * Bytes waiting to be sent to clients, summed over open connections: what each connection's
     * {@link TransportOptions#MAX_UNREAD_OUTPUT_BYTES} bounds. A snapshot for metrics, read from
     * any thread without stopping the I/O threads; 0 when the transport does not say.
     */
    default long unreadOutputBytes() {
        return 0;
    }

    /**
     * Handshakes dropped unanswered since start — too short to answer without amplification, or
     * past a per-source rate limit — for a transport that has handshakes of its own (UDP); 0 for
     * the others. Read from any thread.
     */
    default long droppedHandshakes() {
        return 0;
    }

    /**
     * Stops accepting, closes every connection (each gets {@link ConnectionHandler#onClose}) and
     * releases threads. Blocks until done. Idempotent.
     */
    @Override
    void close();
}
