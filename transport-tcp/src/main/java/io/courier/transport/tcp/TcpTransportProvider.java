package io.courier.transport.tcp;

import io.courier.transport.ConnectionHandler;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportProvider;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.tcp.internal.TcpClient;
import io.courier.transport.netty.NettyServer;
import io.courier.transport.tcp.internal.TcpServerInitializer;

/**
 * The {@code tcp} transport: Netty over TCP, epoll where available (NIO otherwise), each frame a
 * varint32 length followed by the protobuf {@code Frame} bytes.
 *
 * <pre>
 *  +----------------------+--------------------------------+
 *  | length (varint32,    | Frame (protobuf), length bytes |
 *  | 1-5 bytes)           |                                |
 *  +----------------------+--------------------------------+
 * </pre>
 *
 * A declared length above {@link TransportSettings#maxFrameBytes()} is answered with
 * {@code FRAME_TOO_LARGE} and a close before any of the body is read.
 *
 * <p>Options: {@code epoll} ({@code true} by default; {@code false} forces NIO), {@code threads}
 * (I/O threads; CPU cores on a server, 2 on a client), {@code write-buffer-high} and
 * {@code write-buffer-low} (bytes; 64 KiB and 32 KiB: above the high mark a connection reports
 * itself unwritable and the router pauses its mailbox).
 */
public final class TcpTransportProvider implements TransportProvider {

    /** The name configuration selects this transport by. */
    public static final String NAME = "tcp";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public TransportServer createServer(TransportSettings settings, ConnectionHandler handler) {
        return new NettyServer(settings, NAME, "", "TCP",
            (open, channels) -> new TcpServerInitializer(settings.maxFrameBytes(), handler, open, channels));
    }

    @Override
    public TransportClient createClient(TransportSettings settings) {
        return new TcpClient(settings);
    }
}
