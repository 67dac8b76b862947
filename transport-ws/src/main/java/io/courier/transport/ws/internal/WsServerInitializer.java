package io.courier.transport.ws.internal;

import io.courier.transport.ConnectionGate;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.IoThreadErrors;
import io.courier.transport.TransportOptions;
import io.courier.transport.netty.ChannelAdmission;
import io.netty.buffer.ByteBuf;
import io.courier.transport.netty.ConnectionBridge;
import io.courier.transport.netty.ProtocolViolation;
import io.courier.transport.netty.UnreadOutputLimit;
import io.courier.transport.proto.Error;
import io.courier.transport.ws.WsTransportProvider;
import io.netty.buffer.Unpooled;
import io.courier.transport.netty.ChannelConnection;
import io.netty.channel.Channel;
import java.util.function.Function;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.handler.codec.http.websocketx.extensions.compression.WebSocketServerCompressionHandler;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server pipeline, top to bottom: the unread-output limit, flush consolidation, HTTP, the origin
 * allow-list, optional permessage-deflate, the WebSocket handshake and frame codec, the upgrade
 * deadline, reassembly of fragmented messages (bounded), then — once the handshake has chosen a
 * sub-protocol — Courier frames and the bridge to the router.
 */
public final class WsServerInitializer extends ChannelInitializer<Channel> {

    private static final Logger LOG = LoggerFactory.getLogger(WsServerInitializer.class);

    private final String path;
    private final int maxFrameBytes;
    private final Set<String> origins;
    private final boolean deflate;
    private final ConnectionHandler handler;
    private final AtomicInteger open;
    private final ChannelGroup channels;
    private final int upgradeTimeoutMs;
    private final UnreadOutputLimit unreadOutputLimit;
    // Made once: a lambda made in the handshake would be one more object per connection, and keep the handshake.
    private final Function<Channel, ChannelConnection> connections;
    private final ConnectionGate gate;

    /** As the full constructor, with the default upgrade deadline and unread-output limit (embedded channels in tests). */
    public WsServerInitializer(String path, int maxFrameBytes, Set<String> origins, boolean deflate, ConnectionHandler handler,
                        AtomicInteger open, ChannelGroup channels) {
        this(path, maxFrameBytes, origins, deflate, handler, open, channels,
            Integer.parseInt(WsTransportProvider.UPGRADE_TIMEOUT_MS.defaultValue()),
            Integer.parseInt(TransportOptions.MAX_UNREAD_OUTPUT_BYTES.defaultValue()), ConnectionGate.unlimited());
    }

    /**
     * @param upgradeTimeoutMs     how long after opening a connection must have completed its upgrade.
     * @param maxUnreadOutputBytes what may wait to be sent to a peer before it is closed as a slow consumer.
     * @param gate                 admits every accepted channel before its upgrade.
     */
    public WsServerInitializer(String path, int maxFrameBytes, Set<String> origins, boolean deflate, ConnectionHandler handler,
                        AtomicInteger open, ChannelGroup channels, int upgradeTimeoutMs, int maxUnreadOutputBytes,
                        ConnectionGate gate) {
        this.path = path;
        this.maxFrameBytes = maxFrameBytes;
        this.origins = origins;
        this.deflate = deflate;
        this.handler = handler;
        this.open = open;
        this.channels = channels;
        this.upgradeTimeoutMs = upgradeTimeoutMs;
        this.unreadOutputLimit = new UnreadOutputLimit(WsTransportProvider.NAME, maxUnreadOutputBytes);
        this.connections = ch -> new WsConnection(ch, maxFrameBytes);
        this.gate = gate;
    }

    /** Typed {@code Channel}, not {@code SocketChannel}, so tests can run it in an {@code EmbeddedChannel}. */
    @Override
    protected void initChannel(Channel channel) {
        channels.add(channel);
        // The socket counts from its accept, long before any upgrade: refused, it gets an HTTP 503.
        if (!ChannelAdmission.admit(gate, channel, WsTransportProvider.NAME, WsServerInitializer::beforeUpgrade)) {
            return;
        }
        ChannelPipeline pipeline = channel.pipeline();
        // Outbound, next to the socket: a peer that lets more than the limit wait is a slow consumer.
        pipeline.addLast("unread-output-limit", unreadOutputLimit);
        // Flushes asked for while the event loop has more tasks queued (replies from the storage
        // writer, a mailbox drain) become one write system call when those tasks are done.
        pipeline.addLast("flush-consolidation", new FlushConsolidationHandler(
            FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true));
        pipeline.addLast("http", new HttpServerCodec());
        pipeline.addLast("http-aggregator", new HttpObjectAggregator(16 * 1024));
        pipeline.addLast("origin-check", new OriginCheck(origins));
        if (deflate) {
            pipeline.addLast("permessage-deflate", new WebSocketServerCompressionHandler(0));
        }
        pipeline.addLast("websocket", new WebSocketServerProtocolHandler(WebSocketServerProtocolConfig.newBuilder()
            .websocketPath(path)
            .subprotocols(WsTransportProvider.PROTO + "," + WsTransportProvider.JSON)
            .handleCloseFrames(true)
            .dropPongFrames(true)
            .handshakeTimeoutMillis(upgradeTimeoutMs)
            // One byte over the limit still reaches our codec, which answers FRAME_TOO_LARGE with a
            // Courier error; anything larger is refused by Netty with close code 1009.
            .decoderConfig(WebSocketDecoderConfig.newBuilder().maxFramePayloadLength(maxFrameBytes + 1)
                .allowExtensions(deflate).withUTF8Validator(true).build())
            .build()));
        // After the WebSocket handler, so it hears that the upgrade completed.
        pipeline.addLast("upgrade-deadline", new UpgradeDeadline());
        pipeline.addLast("not-found", new NotFound(path));
        pipeline.addLast("handshake", new Handshake());
    }

    /**
     * Closes a connection that has not completed its upgrade {@code upgradeTimeoutMs} after it
     * opened: one that sends nothing, half a request, or dribbles its headers. The deadline is total,
     * not an idle timer, so bytes trickling in do not extend it. The connection is answered 408 and
     * closed. Removed once the upgrade completes; the router's hello timeout takes over.
     */
    private final class UpgradeDeadline extends ChannelInboundHandlerAdapter {
        private ScheduledFuture<?> timer;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            if (ctx.channel().isActive()) {
                arm(ctx);
            }
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            arm(ctx);
            ctx.fireChannelActive();
        }

        private void arm(ChannelHandlerContext ctx) {
            if (timer == null) {
                timer = ctx.executor().schedule(() -> expire(ctx), upgradeTimeoutMs, TimeUnit.MILLISECONDS);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            ctx.fireUserEventTriggered(event);
            if (event instanceof WebSocketServerProtocolHandler.HandshakeComplete) {
                cancel();
                ctx.pipeline().remove(this);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            cancel();
            ctx.fireChannelInactive();
        }

        private void cancel() {
            if (timer != null) {
                timer.cancel(false);
            }
        }

        private void expire(ChannelHandlerContext ctx) {
            if (!ctx.channel().isActive()) {
                return;
            }
            String detail = "No WebSocket upgrade within " + upgradeTimeoutMs + " ms of connecting"
                + " (transports.ws.options." + WsTransportProvider.UPGRADE_TIMEOUT_MS.name() + ")";
            handler.onTransportTimeout(WsTransportProvider.NAME, ctx.channel().remoteAddress(), detail);
            // 408, then the close once it is written; and the close regardless soon after, so that
            // the deadline, not the peer, decides when the connection ends.
            respond(ctx, HttpResponseStatus.REQUEST_TIMEOUT, detail + "\n");
            ctx.executor().schedule(() -> ctx.channel().close(), 1, TimeUnit.SECONDS);
        }
    }

    /** Installs the Courier codec for the negotiated sub-protocol, or refuses an unknown one. */
    private final class Handshake extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (!(event instanceof WebSocketServerProtocolHandler.HandshakeComplete done)) {
                ctx.fireUserEventTriggered(event);
                return;
            }
            String protocol = done.selectedSubprotocol();
            if (!WsTransportProvider.PROTO.equals(protocol) && !WsTransportProvider.JSON.equals(protocol)) {
                ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.PROTOCOL_ERROR,
                    "Unknown sub-protocol; use " + WsTransportProvider.PROTO + " or " + WsTransportProvider.JSON))
                    .addListener(ChannelFutureListener.CLOSE);
                return;
            }
            ChannelPipeline pipeline = ctx.pipeline();
            pipeline.addAfter(ctx.name(), "message-aggregator", new BoundedAggregator(maxFrameBytes));
            pipeline.addAfter("message-aggregator", "courier-codec",
                new WsFrameCodec(WsTransportProvider.JSON.equals(protocol), maxFrameBytes));
            pipeline.addAfter("courier-codec", "connection", new ConnectionBridge(handler, open, connections));
            pipeline.remove(this);
        }

        /**
         * Before the upgrade no {@link ConnectionBridge} is in the pipeline: whatever fails here
         * closes the connection, and an Error is reported and escalated as {@link IoThreadErrors}
         * says. After the upgrade this handler is gone and the bridge does the same.
         */
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof java.lang.Error error) {
                handler.onIoThreadError(WsTransportProvider.NAME, ctx.channel().remoteAddress(), null, error);
                ctx.close();
                IoThreadErrors.escalate(error);
                return;
            }
            if (ConnectionBridge.causedByPeer(cause)) {
                LOG.debug("WebSocket connection from {} failed before its upgrade: {}", ctx.channel().remoteAddress(),
                    cause.toString());
            } else {
                LOG.info("WebSocket connection from {} failed before its upgrade, closing it: {}",
                    ctx.channel().remoteAddress(), cause.toString());
            }
            ctx.close();
        }
    }

    /** Reassembles fragmented messages; one above the limit is a Courier FRAME_TOO_LARGE. */
    private static final class BoundedAggregator extends WebSocketFrameAggregator {
        private final int max;

        BoundedAggregator(int max) {
            super(max);
            this.max = max;
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, io.netty.handler.codec.http.websocketx.WebSocketFrame start) {
            ctx.fireUserEventTriggered(new ProtocolViolation(Error.Code.FRAME_TOO_LARGE,
                "Fragmented message above the maximum of " + max + " bytes"));
        }
    }

    /** Refuses the upgrade (403) when the browser's Origin is not on the allow-list. */
    private static final class OriginCheck extends ChannelInboundHandlerAdapter {
        private final Set<String> allowed;

        OriginCheck(Set<String> allowed) {
            this.allowed = allowed;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof FullHttpRequest request && !allowed.contains("*")) {
                String origin = request.headers().get(HttpHeaderNames.ORIGIN);
                if (origin != null && !allowed.contains(origin)) {
                    request.release();
                    respond(ctx, HttpResponseStatus.FORBIDDEN, "Origin " + origin + " is not allowed\n");
                    return;
                }
            }
            ctx.fireChannelRead(msg);
        }
    }

    /** Anything that is not a WebSocket upgrade on the path gets a 404 naming the path. */
    private static final class NotFound extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final String path;

        NotFound(String path) {
            this.path = path;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            respond(ctx, HttpResponseStatus.NOT_FOUND, "Courier speaks WebSocket at " + path + "\n");
        }
    }

    /**
     * The HTTP response, as raw bytes, that ends a socket the admission gate refuses or evicts
     * before the upgrade: 503 for a connection limit, 408 for no upgrade and hello in time; the
     * error's text is the body.
     */
    static ByteBuf beforeUpgrade(Error error) {
        HttpResponseStatus status = error.getCode() == Error.Code.NOT_AUTHENTICATED
            ? HttpResponseStatus.REQUEST_TIMEOUT : HttpResponseStatus.SERVICE_UNAVAILABLE;
        byte[] body = (error.getText() + "\n").getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 " + status + "\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: " + body.length + "\r\n"
            + (status == HttpResponseStatus.SERVICE_UNAVAILABLE ? "Retry-After: 5\r\n" : "")
            + "Connection: close\r\n\r\n";
        return Unpooled.wrappedBuffer(head.getBytes(StandardCharsets.US_ASCII), body);
    }

    private static void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String text) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
            Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }
}
