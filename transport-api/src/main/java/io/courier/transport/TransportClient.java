package io.courier.transport;

import java.net.URI;
import java.util.concurrent.CompletableFuture;

/**
 * The client side of a transport. One client may hold many connections (load generators hold
 * thousands); it owns the threads they share, released by {@link #close()}.
 */
public interface TransportClient extends AutoCloseable {

    /**
     * Opens a connection.
     *
     * @param address  a server's {@link TransportServer#address()}, e.g. {@code tcp://127.0.0.1:7100}.
     * @param listener receives frames and the close; called on one I/O thread per connection.
     * @return completes when the connection is usable, or exceptionally with a
     *     {@link TransportException} naming the address.
     */
    CompletableFuture<ClientConnection> connect(URI address, ClientListener listener);

    /** Closes every connection and releases threads. Blocks until done. */
    @Override
    void close();
}
