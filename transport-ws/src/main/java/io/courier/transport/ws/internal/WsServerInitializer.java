package io.courier.transport.ws.internal;

import io.courier.transport.ConnectionGate;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.netty.ChannelAdmission;
import io.netty.buffer.ByteBuf;
import io.courier.transport.netty.ConnectionBridge;
import io.courier.transport.netty.ProtocolViolation;
import io.courier.transport.proto.Error;
import io.courier.transport.ws.WsTransportProvider;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
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
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The server pipeline, top to bottom: flush consolidation, HTTP, the origin allow-list, optional
 * permessage-deflate, the WebSocket handshake and frame codec, reassembly of fragmented messages (bounded), then —
 * once the handshake has chosen a sub-protocol — Courier frames and the bridge to the router.
 */
public final class WsServerInitializer extends ChannelInitializer<SocketChannel> {

    private final String path;
    private final int maxFrameBytes;
    private final Set<String> origins;
    private final boolean deflate;
    private final ConnectionHandler handler;
    private final AtomicInteger open;
    private final ChannelGroup channels;
    private final ConnectionGate gate;

    public WsServerInitializer(String path, int maxFrameBytes, Set<String> origins, boolean deflate, ConnectionHandler handler,
                        AtomicInteger open, ChannelGroup channels, ConnectionGate gate) {
        this.path = path;
        this.maxFrameBytes = maxFrameBytes;
        this.origins = origins;
        this.deflate = deflate;
        this.handler = handler;
        this.open = open;
        this.channels = channels;
        this.gate = gate;
    }

    @Override
    protected void initChannel(SocketChannel channel) {
        channels.add(channel);
        // The socket counts from its accept, long before any upgrade: refused, it gets an HTTP 503.
        if (!ChannelAdmission.admit(gate, channel, WsTransportProvider.NAME, WsServerInitializer::beforeUpgrade)) {
            return;
        }
        ChannelPipeline pipeline = channel.pipeline();
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
            .handshakeTimeoutMillis(10_000)
            // One byte over the limit still reaches our codec, which answers FRAME_TOO_LARGE with a
            // Courier error; anything larger is refused by Netty with close code 1009.
            .decoderConfig(WebSocketDecoderConfig.newBuilder().maxFramePayloadLength(maxFrameBytes + 1)
                .allowExtensions(deflate).withUTF8Validator(true).build())
            .build()));
        pipeline.addLast("not-found", new NotFound(path));
        pipeline.addLast("handshake", new Handshake());
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
            pipeline.addAfter("courier-codec", "connection", new ConnectionBridge(handler, open,
                ch -> new WsConnection(ch, maxFrameBytes)));
            pipeline.remove(this);
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
