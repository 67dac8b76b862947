package io.courier.transport.ws.internal;

import io.courier.transport.ClientConnection;
import io.courier.transport.ClientListener;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportException;
import io.courier.transport.TransportSettings;
import io.courier.transport.netty.EventLoops;
import io.courier.transport.netty.ProtocolViolation;
import io.courier.transport.proto.Frame;
import io.courier.transport.ws.WsTransportProvider;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.extensions.compression.WebSocketClientCompressionHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The WebSocket client on Netty, speaking {@code courier.v1.proto}. */
public final class WsClient implements TransportClient {

    private static final Logger LOG = LoggerFactory.getLogger(WsClient.class);

    private final EventLoopGroup group;
    private final EventLoops loops;
    private final int maxFrameBytes;
    private final boolean deflate;
    private final ChannelGroup channels = new DefaultChannelGroup("courier-ws-client", GlobalEventExecutor.INSTANCE);

    public WsClient(TransportSettings settings) {
        loops = new EventLoops(settings);
        group = loops.group(EventLoops.threads(settings, 2), "courier-ws-client");
        maxFrameBytes = settings.maxFrameBytes();
        deflate = WsTransportProvider.PERMESSAGE_DEFLATE.booleanIn(settings.options());
    }

    @Override
    public CompletableFuture<ClientConnection> connect(URI address, ClientListener listener) {
        CompletableFuture<ClientConnection> result = new CompletableFuture<>();
        if (!"ws".equals(address.getScheme()) || address.getHost() == null || address.getPort() < 0) {
            result.completeExceptionally(new TransportException("Not a WebSocket address: " + address
                + " (expected ws://host:port/path)"));
            return result;
        }
        WebSocketClientProtocolConfig config = WebSocketClientProtocolConfig.newBuilder()
            .webSocketUri(address)
            .subprotocol(WsTransportProvider.PROTO)
            // Not a browser: no Origin header, so origin allow-lists (which are for browsers) do not apply.
            .generateOriginHeader(false)
            // The client lets oversized messages through so conformance tests can send them.
            .maxFramePayloadLength(Integer.MAX_VALUE)
            .allowExtensions(deflate)
            .handleCloseFrames(true)
            .dropPongFrames(true)
            .build();
        ClientHandler handler = new ClientHandler(listener, result, address);
        Bootstrap bootstrap = new Bootstrap()
            .group(group)
            .channel(loops.channel())
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
            .handler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel channel) {
                    channels.add(channel);
                    ChannelPipeline pipeline = channel.pipeline();
                    // Sends queued faster than the event loop runs go out in one write system call.
                    pipeline.addLast("flush-consolidation", new FlushConsolidationHandler(
                        FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true));
                    pipeline.addLast("http", new HttpClientCodec());
                    pipeline.addLast("http-aggregator", new HttpObjectAggregator(16 * 1024));
                    if (deflate) {
                        pipeline.addLast("permessage-deflate", new WebSocketClientCompressionHandler(0));
                    }
                    pipeline.addLast("websocket", new WebSocketClientProtocolHandler(config));
                    pipeline.addLast("message-aggregator", new WebSocketFrameAggregator(Integer.MAX_VALUE));
                    pipeline.addLast("courier-codec", new WsFrameCodec(false, Integer.MAX_VALUE));
                    pipeline.addLast("listener", handler);
                }
            });
        bootstrap.connect(address.getHost(), address.getPort()).addListener(f -> {
            if (!f.isSuccess()) {
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

    /** Completes the connect future at the end of the handshake, then hands frames to the listener. */
    private static final class ClientHandler extends SimpleChannelInboundHandler<Frame> {
        private final ClientListener listener;
        private final CompletableFuture<ClientConnection> connected;
        private final URI address;
        private WsClientConnection connection;

        ClientHandler(ClientListener listener, CompletableFuture<ClientConnection> connected, URI address) {
            this.listener = listener;
            this.connected = connected;
            this.address = address;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            connection = new WsClientConnection(ctx.channel());
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
                connected.complete(connection);
            } else if (event == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_TIMEOUT) {
                connected.completeExceptionally(new TransportException("WebSocket handshake with " + address + " timed out"));
                ctx.close();
            } else if (event instanceof ProtocolViolation violation) {
                LOG.warn("Server sent a message that violates the protocol ({}: {}); closing", violation.code(),
                    violation.detail());
                ctx.close();
            } else {
                ctx.fireUserEventTriggered(event);
            }
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Frame frame) {
            listener.onFrame(frame);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            connected.completeExceptionally(new TransportException("WebSocket to " + address + " closed during the handshake"));
            try {
                if (connected.isDone() && !connected.isCompletedExceptionally()) {
                    listener.onClose();
                }
            } finally {
                connection.closeFuture().complete(null);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!connected.isDone()) {
                connected.completeExceptionally(new TransportException("WebSocket handshake with " + address
                    + " failed: " + cause.getMessage(), cause));
            } else if (cause instanceof IOException) {
                LOG.debug("WebSocket client connection failed: {}", cause.toString());
            } else if (cause instanceof Error error) {
                throw error;
            } else {
                LOG.warn("Unexpected failure on a WebSocket client connection; closing it", cause);
            }
            ctx.close();
        }
    }

    /** A client's view of one WebSocket. */
    private static final class WsClientConnection implements ClientConnection {
        private final Channel channel;
        private final CompletableFuture<Void> closed = new CompletableFuture<>();

        WsClientConnection(Channel channel) {
            this.channel = channel;
        }

        @Override
        public void send(Frame frame) {
            channel.writeAndFlush(frame, channel.voidPromise());
        }

        @Override
        public void sendUnchecked(byte[] encodedFrame) {
            channel.writeAndFlush(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(encodedFrame)), channel.voidPromise());
        }

        @Override
        public boolean isOpen() {
            return channel.isActive();
        }

        @Override
        public void close() {
            if (channel.isActive()) {
                channel.writeAndFlush(new CloseWebSocketFrame()).addListener(f -> channel.close());
            } else {
                channel.close();
            }
        }

        @Override
        public CompletableFuture<Void> closeFuture() {
            return closed;
        }
    }
}
