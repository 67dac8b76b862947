package io.courier.transport.tcp.internal;

import io.courier.transport.ConnectionGate;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.TransportOptions;
import io.courier.transport.netty.ChannelAdmission;
import io.courier.transport.proto.Frame;
import io.netty.buffer.ByteBufAllocator;
import io.courier.transport.netty.ChannelConnection;
import io.courier.transport.netty.ConnectionBridge;
import io.courier.transport.netty.UnreadOutputLimit;
import io.courier.transport.tcp.TcpTransportProvider;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.channel.group.ChannelGroup;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * The server pipeline of one accepted TCP connection. Shared by all of them: it holds no
 * per-connection state itself.
 */
public final class TcpServerInitializer extends ChannelInitializer<Channel> {

    private final int maxFrameBytes;
    private final FrameEncoder encoder;
    private final ConnectionHandler handler;
    private final AtomicInteger open;
    private final ChannelGroup channels;
    private final UnreadOutputLimit unreadOutputLimit;
    // Made once, not a capturing lambda per channel.
    private final Function<Channel, ChannelConnection> connections;
    private final ConnectionGate gate;

    /** As the full constructor, with the default {@code max-unread-output-bytes} and no admission limits (embedded channels in tests). */
    public TcpServerInitializer(int maxFrameBytes, ConnectionHandler handler, AtomicInteger open, ChannelGroup channels) {
        this(maxFrameBytes, handler, open, channels, Integer.parseInt(TransportOptions.MAX_UNREAD_OUTPUT_BYTES.defaultValue()),
            ConnectionGate.unlimited());
    }

    /**
     * @param maxFrameBytes        the largest encoded frame accepted or sent.
     * @param handler              receives every connection's events: the router.
     * @param open                 the server's count of open connections, kept by the bridge.
     * @param channels             every accepted channel is added here, so the server can close them all.
     * @param maxUnreadOutputBytes what may wait to be sent to a peer before it is closed as a slow consumer.
     * @param gate                 admits every accepted channel before the router hears of it.
     */
    public TcpServerInitializer(int maxFrameBytes, ConnectionHandler handler, AtomicInteger open, ChannelGroup channels,
                                int maxUnreadOutputBytes, ConnectionGate gate) {
        this.maxFrameBytes = maxFrameBytes;
        this.encoder = new FrameEncoder(maxFrameBytes);
        this.unreadOutputLimit = new UnreadOutputLimit(TcpTransportProvider.NAME, maxUnreadOutputBytes);
        this.connections = ch -> new ChannelConnection(ch, TcpTransportProvider.NAME, maxFrameBytes);
        this.handler = handler;
        this.open = open;
        this.channels = channels;
        this.gate = gate;
    }

    /** Typed {@code Channel}, not {@code SocketChannel}, so tests can run it in an {@code EmbeddedChannel}. */
    @Override
    protected void initChannel(Channel channel) {
        channels.add(channel);
        // refused: an error frame, then close; the router never hears of the channel
        if (!ChannelAdmission.admit(gate, channel, TcpTransportProvider.NAME, error ->
            FrameEncoder.encode(ByteBufAllocator.DEFAULT, Frame.newBuilder().setError(error).build()))) {
            return;
        }
        ChannelPipeline pipeline = channel.pipeline();
        // outbound, next to the socket: a peer that lets more than the limit wait is a slow consumer
        pipeline.addLast("unread-output-limit", unreadOutputLimit);
        // outbound: flushes asked for while the event loop has more tasks queued (replies from the
        // storage writer, a mailbox drain) become one write system call when those tasks are done
        pipeline.addLast("flush-consolidation", new FlushConsolidationHandler(
            FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true));
        // inbound: bytes -> Frame, refusing oversized and malformed input
        pipeline.addLast("frame-decoder", new FrameDecoder(maxFrameBytes));
        // outbound: Frame -> varint32 length + bytes, refusing frames above the maximum
        pipeline.addLast("frame-encoder", encoder);
        // frames, violations, writability and close -> the router
        pipeline.addLast("connection", new ConnectionBridge(handler, open, connections));
    }
}
