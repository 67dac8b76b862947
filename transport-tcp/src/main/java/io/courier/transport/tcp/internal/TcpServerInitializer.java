package io.courier.transport.tcp.internal;

import io.courier.transport.ConnectionHandler;
import io.courier.transport.netty.ChannelConnection;
import io.courier.transport.netty.ConnectionBridge;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import java.util.concurrent.atomic.AtomicInteger;

/** The server pipeline, top to bottom: bytes to frames, frames to bytes, frames to the router. */
public final class TcpServerInitializer extends ChannelInitializer<SocketChannel> {

    private final int maxFrameBytes;
    private final FrameEncoder encoder;
    private final ConnectionHandler handler;
    private final AtomicInteger open;
    private final ChannelGroup channels;

    public TcpServerInitializer(int maxFrameBytes, ConnectionHandler handler, AtomicInteger open, ChannelGroup channels) {
        this.maxFrameBytes = maxFrameBytes;
        this.encoder = new FrameEncoder(maxFrameBytes);
        this.handler = handler;
        this.open = open;
        this.channels = channels;
    }

    @Override
    protected void initChannel(SocketChannel channel) {
        channels.add(channel); // so that close() reaches every connection
        ChannelPipeline pipeline = channel.pipeline();
        pipeline.addLast("frame-decoder", new FrameDecoder(maxFrameBytes));
        pipeline.addLast("frame-encoder", encoder);
        pipeline.addLast("connection", new ConnectionBridge(handler, open, ch -> new ChannelConnection(ch, "tcp")));
    }
}
