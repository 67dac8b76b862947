package io.courier.transport.tcp.internal;

import io.courier.transport.ClientConnection;
import io.courier.transport.ClientListener;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportException;
import io.courier.transport.TransportSettings;
import io.courier.transport.netty.EventLoops;
import io.courier.transport.netty.ProtocolViolation;
import io.courier.transport.proto.Frame;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TCP client: one group of I/O threads (option {@code threads}, 2 by default; epoll or NIO as
 * on the server) shared by all its connections, each framed like the server's.
 *
 * <p>Thread-safe. {@link ClientConnection#send} throws a {@link TransportException} for a frame
 * above the client's maximum rather than send what the server would refuse.
 */
public final class TcpClient implements TransportClient {

    private static final Logger LOG = LoggerFactory.getLogger(TcpClient.class);
    private static final int CONNECT_TIMEOUT_MILLIS = 10_000;
    private static final AttributeKey<ClientListener> LISTENER = AttributeKey.valueOf("courier.tcp.listener");
    private static final AttributeKey<ClientConnection> CONNECTION = AttributeKey.valueOf("courier.tcp.connection");

    private final int maxFrameBytes;
    private final EventLoopGroup group;
    private final Bootstrap bootstrap;
    // So close() reaches every connection, and each one's listener hears onClose.
    private final ChannelGroup channels = new DefaultChannelGroup("courier-tcp-client", GlobalEventExecutor.INSTANCE);

    /**
     * Starts the client's I/O threads; no connection is opened yet.
     *
     * @param settings the frame limit and options; host and port are ignored.
     * @throws IllegalArgumentException when an option is malformed, naming it.
     */
    public TcpClient(TransportSettings settings) {
        maxFrameBytes = settings.maxFrameBytes();
        EventLoops loops = new EventLoops(settings);
        group = loops.group(EventLoops.threads(settings, 2), "courier-tcp-client");
        FrameEncoder encoder = new FrameEncoder(maxFrameBytes);
        bootstrap = new Bootstrap()
            .group(group)
            .channel(loops.channel())
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MILLIS)
            .handler(new ChannelInitializer<>() {
                @Override
                protected void initChannel(Channel channel) {
                    channels.add(channel);
                    ChannelPipeline pipeline = channel.pipeline();
                    // Sends queued faster than the event loop runs go out in one write system call.
                    pipeline.addLast("flush-consolidation", new FlushConsolidationHandler(
                        FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true));
                    pipeline.addLast("frame-decoder", new FrameDecoder(maxFrameBytes));
                    pipeline.addLast("frame-encoder", encoder);
                    TcpClientConnection connection = new TcpClientConnection(channel);
                    channel.attr(CONNECTION).set(connection);
                    pipeline.addLast("listener", new ListenerBridge(channel.attr(LISTENER).get(), connection));
                }
            });
    }

    /**
     * Connects to {@code tcp://host:port}. Never blocks.
     *
     * @return completes once connected, or exceptionally with a {@link TransportException} naming
     *     the address: not a {@code tcp://host:port} URI, refused, unreachable, timed out after
     *     10 seconds, or this client is closed.
     */
    @Override
    public CompletableFuture<ClientConnection> connect(URI address, ClientListener listener) {
        CompletableFuture<ClientConnection> result = new CompletableFuture<>();
        if (!"tcp".equals(address.getScheme()) || address.getHost() == null || address.getPort() < 0) {
            result.completeExceptionally(new TransportException(
                "Not a TCP address: " + address + " (expected tcp://host:port)"));
            return result;
        }
        ChannelFuture connecting = bootstrap.clone()
            .attr(LISTENER, listener)
            .connect(address.getHost(), address.getPort());
        connecting.addListener(done -> {
            if (done.isSuccess()) {
                result.complete(connecting.channel().attr(CONNECTION).get());
            } else {
                result.completeExceptionally(new TransportException(
                    "Cannot connect to " + address + ": " + done.cause().getMessage(), done.cause()));
            }
        });
        return result;
    }

    /** Closes every connection (each listener hears {@code onClose}) and stops the threads. Blocks. */
    @Override
    public void close() {
        channels.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** Hands one connection's frames and close to its listener, on the connection's event loop. */
    private static final class ListenerBridge extends SimpleChannelInboundHandler<Frame> {
        private final ClientListener listener;
        private final TcpClientConnection connection;

        ListenerBridge(ClientListener listener, TcpClientConnection connection) {
            this.listener = listener;
            this.connection = connection;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Frame frame) {
            listener.onFrame(frame);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof ProtocolViolation violation) {
                LOG.warn("Server {} sent bytes that violate the protocol ({}: {}); closing",
                    ctx.channel().remoteAddress(), violation.code(), violation.detail());
                ctx.close();
            } else {
                ctx.fireUserEventTriggered(event);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            try {
                listener.onClose();
            } finally {
                connection.closed.complete(null);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof Error error) {
                throw error;
            }
            if (cause instanceof IOException) {
                // The server reset or vanished: the listener hears onClose, a stack trace adds nothing.
                LOG.debug("Connection to {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
            } else {
                LOG.warn("Unexpected failure on the connection to {}; closing it", ctx.channel().remoteAddress(), cause);
            }
            ctx.close();
        }
    }

    /** The client's view of one channel. */
    private final class TcpClientConnection implements ClientConnection {
        private final Channel channel;
        private final CompletableFuture<Void> closed = new CompletableFuture<>();

        TcpClientConnection(Channel channel) {
            this.channel = channel;
        }

        @Override
        public void send(Frame frame) {
            int size = frame.getSerializedSize();
            if (size > maxFrameBytes) {
                throw new TransportException("Cannot send a " + frame.getBodyCase() + " frame of " + size
                    + " bytes to " + channel.remoteAddress() + ": above the maximum of " + maxFrameBytes + " bytes");
            }
            channel.writeAndFlush(frame, channel.voidPromise());
        }

        @Override
        public void sendUnchecked(byte[] encodedFrame) {
            channel.writeAndFlush(FrameEncoder.encodeUnchecked(channel.alloc(), encodedFrame), channel.voidPromise());
        }

        @Override
        public boolean isOpen() {
            return channel.isActive();
        }

        @Override
        public void close() {
            channel.close();
        }

        @Override
        public CompletableFuture<Void> closeFuture() {
            return closed;
        }
    }
}
