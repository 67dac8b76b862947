package io.courier.transport.tcp;

import io.courier.plugin.PluginOption;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportProvider;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.netty.EventLoops;
import io.courier.transport.netty.NettyServer;
import io.courier.transport.tcp.internal.TcpClient;
import io.courier.transport.tcp.internal.TcpServerInitializer;
import java.util.List;

/**
 * The {@code tcp} transport: Netty over TCP, epoll where available (NIO otherwise; io_uring on request), each frame a
 * varint32 length followed by that many bytes of protobuf {@code Frame}:
 *
 * <pre>
 *  +-------------------------+-----------------------------------+
 *  | length: varint32,       | Frame: protobuf, length bytes     |
 *  | 1 to 5 bytes            | (at most maxFrameBytes)           |
 *  +-------------------------+-----------------------------------+
 * </pre>
 *
 * <p>A declared length above {@link TransportSettings#maxFrameBytes()} is answered with a fatal
 * {@code FRAME_TOO_LARGE} before any of the body is read; bytes that do not parse as a
 * {@code Frame} with a fatal {@code MALFORMED_FRAME}. Either way the router hears
 * {@code onTransportError} first, and the connection closes after the error is flushed. A frame
 * above the maximum is never sent: the server logs and drops it, the client's {@code send} throws.
 *
 * <p>Options, all optional:
 * <ul>
 *   <li>{@code io}: {@code auto} (default: epoll when the native library loads, NIO otherwise),
 *       {@code io_uring}, {@code epoll} or {@code nio}; an unavailable native transport falls back
 *       (io_uring, epoll, NIO) with a warning ({@link EventLoops}).</li>
 *   <li>{@code epoll}: deprecated; {@code false} is {@code io: nio}.</li>
 *   <li>{@code threads}: I/O threads; the number of CPU cores on a server, 2 on a client.</li>
 *   <li>{@code write-buffer-high}, {@code write-buffer-low}: bytes, 64 KiB and 32 KiB by default.
 *       Above the high mark a connection reports itself unwritable and the router pauses its
 *       mailbox until the buffer drains below the low mark.</li>
 *   <li>{@code max-unread-output-bytes}: 4 MiB by default, at least {@code write-buffer-high} +
 *       {@code max-frame-bytes}. A connection whose outbound buffer holds more — a peer that keeps
 *       sending and stopped reading — is closed with a fatal {@code SLOW_CONSUMER}.</li>
 * </ul>
 * The server sets {@code TCP_NODELAY} on every connection and {@code SO_REUSEADDR} on the listener,
 * and admits every accepted socket through {@link TransportSettings#gate()}: a refused one gets a
 * fatal {@code TOO_MANY_CONNECTIONS} error frame and is closed.
 *
 * <p>Stateless and thread-safe; discovered through {@link java.util.ServiceLoader}.
 */
public final class TcpTransportProvider implements TransportProvider {

    /** The name configuration selects this transport by. */
    public static final String NAME = "tcp";

    /** For {@link java.util.ServiceLoader}; holds nothing. */
    public TcpTransportProvider() {
    }

    /** Returns {@value #NAME}. */
    @Override
    public String name() {
        return NAME;
    }

    /** {@code io}, {@code epoll}, {@code threads}, {@code write-buffer-high}, {@code write-buffer-low}, {@code max-unread-output-bytes}. */
    @Override
    public List<PluginOption> options() {
        return EventLoops.SERVER_OPTIONS;
    }

    /**
     * A server whose {@link TransportServer#address()} is {@code tcp://host:port}. Options are read
     * when it starts: a malformed one fails {@link TransportServer#start()} with an
     * {@link IllegalArgumentException} naming it.
     */
    @Override
    public TransportServer createServer(TransportSettings settings, ConnectionHandler handler) {
        return new NettyServer(settings, NAME, "", "TCP",
            (open, channels, maxUnreadOutput) -> new TcpServerInitializer(settings.maxFrameBytes(), handler, open, channels,
                maxUnreadOutput, settings.gate()));
    }

    /**
     * A client for {@code tcp://host:port} addresses, with its own I/O threads.
     *
     * @throws IllegalArgumentException when an option is malformed, naming it.
     */
    @Override
    public TransportClient createClient(TransportSettings settings) {
        return new TcpClient(settings);
    }
}
