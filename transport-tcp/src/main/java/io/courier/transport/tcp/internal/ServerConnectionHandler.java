package io.courier.transport.tcp.internal;

import io.courier.transport.ConnectionHandler;
import io.courier.transport.Frames;
import io.courier.transport.proto.Frame;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Bridges one channel's events to the {@link ConnectionHandler} (the router). */
final class ServerConnectionHandler extends SimpleChannelInboundHandler<Frame> {

    private static final Logger LOG = LoggerFactory.getLogger(ServerConnectionHandler.class);

    private final ConnectionHandler handler;
    private final AtomicInteger open;
    private TcpConnection connection;

    ServerConnectionHandler(ConnectionHandler handler, AtomicInteger open) {
        this.handler = handler;
        this.open = open;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        connection = new TcpConnection(ctx.channel());
        open.incrementAndGet();
        handler.onOpen(connection);
        ctx.fireChannelActive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Frame frame) {
        if (!connection.isClosing()) {
            handler.onFrame(connection, frame);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof FrameDecoder.ProtocolViolation violation) {
            handler.onTransportError(connection, violation.code(), violation.detail());
            connection.closeWithError(Frames.errorBody(violation.code(), violation.detail(), true));
        } else {
            ctx.fireUserEventTriggered(event);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        handler.onWritabilityChanged(connection);
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (connection != null) {
            open.decrementAndGet();
            handler.onClose(connection);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            // The peer reset or vanished: ordinary on the internet, not worth a stack trace.
            LOG.debug("Connection {} failed: {}", connection, cause.toString());
        } else if (cause instanceof Error error) {
            throw error;
        } else {
            LOG.warn("Unexpected failure on connection {}; closing it", connection, cause);
        }
        ctx.close();
    }
}
