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
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The TCP client: one group of I/O threads shared by all its connections. */
public final class TcpClient implements TransportClient {

    private static final Logger LOG = LoggerFactory.getLogger(TcpClient.class);
    private static final AttributeKey<ClientListener> LISTENER = AttributeKey.valueOf("courier.listener");
    private static final AttributeKey<TcpClientConnection> CONNECTION = AttributeKey.valueOf("courier.connection");

    private final EventLoopGroup group;
    private final Bootstrap bootstrap;
    private final ChannelGroup channels = new DefaultChannelGroup("courier-tcp-client", GlobalEventExecutor.INSTANCE);

    public TcpClient(TransportSettings settings) {
        EventLoops loops = new EventLoops(settings);
        group = loops.group(EventLoops.threads(settings, 2), "courier-tcp-client");
        FrameEncoder encoder = new FrameEncoder(settings.maxFrameBytes());
        int maxFrameBytes = settings.maxFrameBytes();
        bootstrap = new Bootstrap()
            .group(group)
            .channel(loops.channel())
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
            .handler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel channel) {
                    channels.add(channel);
                    ChannelPipeline pipeline = channel.pipeline();
                    pipeline.addLast("frame-decoder", new FrameDecoder(maxFrameBytes));
                    pipeline.addLast("frame-encoder", encoder);
                    pipeline.addLast("listener", new ClientHandler());
                }
            });
    }

    @Override
    public CompletableFuture<ClientConnection> connect(URI address, ClientListener listener) {
        CompletableFuture<ClientConnection> result = new CompletableFuture<>();
        if (!"tcp".equals(address.getScheme()) || address.getHost() == null || address.getPort() < 0) {
            result.completeExceptionally(new TransportException("Not a TCP address: " + address
                + " (expected tcp://host:port)"));
            return result;
        }
        ChannelFuture connecting = bootstrap.clone()
            .attr(LISTENER, listener)
            .connect(address.getHost(), address.getPort());
        connecting.addListener(f -> {
            if (f.isSuccess()) {
                result.complete(connecting.channel().attr(CONNECTION).get());
            } else {
                result.completeExceptionally(new TransportException("Cannot connect to " + address + ": "
                    + f.cause().getMessage(), f.cause()));
            }
        });
        return result;
    }

    @Override
    public void close() {
        channels.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** Hands frames and the close to the connection's listener. */
    private static final class ClientHandler extends SimpleChannelInboundHandler<Frame> {
        private ClientListener listener;
        private TcpClientConnection connection;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            listener = ctx.channel().attr(LISTENER).get();
            connection = new TcpClientConnection(ctx.channel());
            ctx.channel().attr(CONNECTION).set(connection);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Frame frame) {
            listener.onFrame(frame);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof ProtocolViolation violation) {
                LOG.warn("Server sent bytes that violate the protocol ({}: {}); closing", violation.code(),
                    violation.detail());
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
                connection.closeFuture().complete(null);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof IOException) {
                LOG.debug("Client connection failed: {}", cause.toString());
            } else if (cause instanceof Error error) {
                throw error;
            } else {
                LOG.warn("Unexpected failure on a client connection; closing it", cause);
            }
            ctx.close();
        }
    }

    /** A client's view of one channel. */
    private static final class TcpClientConnection implements ClientConnection {
        private final Channel channel;
        private final CompletableFuture<Void> closed = new CompletableFuture<>();

        TcpClientConnection(Channel channel) {
            this.channel = channel;
        }

        @Override
        public void send(Frame frame) {
            channel.writeAndFlush(frame, channel.voidPromise());
        }

        @Override
        public void sendUnchecked(byte[] encodedFrame) {
            channel.writeAndFlush(FrameEncoder.unchecked(channel.alloc(), encodedFrame), channel.voidPromise());
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
