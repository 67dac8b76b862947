package io.courier.transport.netty;

import io.courier.transport.ConnectionHandler;
import io.courier.transport.Frames;
import io.courier.transport.proto.Frame;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.TooLongFrameException;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bridges one channel's events to the {@link ConnectionHandler} (the router): decoded
 * {@link Frame}s in, {@link ProtocolViolation} events answered with a fatal error, writability and
 * close passed on. The connection opens when this handler is added to an active channel (a
 * WebSocket adds it after the handshake) or when the channel becomes active.
 */
public final class ConnectionBridge extends SimpleChannelInboundHandler<Frame> {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionBridge.class);

    private final ConnectionHandler handler;
    private final AtomicInteger open;
    private final Function<Channel, ChannelConnection> factory;
    private ChannelConnection connection;

    /**
     * @param handler the router.
     * @param open    the transport's count of open connections.
     * @param factory makes the connection for a channel.
     */
    public ConnectionBridge(ConnectionHandler handler, AtomicInteger open, Function<Channel, ChannelConnection> factory) {
        this.handler = handler;
        this.open = open;
        this.factory = factory;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (ctx.channel().isActive()) {
            opened(ctx);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (connection == null) {
            opened(ctx);
        }
        ctx.fireChannelActive();
    }

    private void opened(ChannelHandlerContext ctx) {
        connection = factory.apply(ctx.channel());
        ChannelAdmission.opened(connection);
        open.incrementAndGet();
        handler.onOpen(connection);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Frame frame) {
        if (!connection.isClosing()) {
            handler.onFrame(connection, frame);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof ProtocolViolation violation && connection != null) {
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
        } else if (cause instanceof CorruptedFrameException || cause instanceof TooLongFrameException) {
            // The peer sent bytes the codec refuses (invalid UTF-8 in a text message, a broken
            // WebSocket frame): the client's mistake, worth one line naming it, not a stack trace.
            // The handler logs and counts it, naming the connection and its user.
            if (connection != null) {
                handler.onTransportError(connection, io.courier.transport.proto.Error.Code.MALFORMED_FRAME,
                    "invalid input, closing: " + cause.getMessage());
            } else {
                LOG.info("{} sent invalid input, closing: {}", ctx.channel().remoteAddress(), cause.getMessage());
            }
        } else if (cause instanceof Error error) {
            throw error;
        } else {
            LOG.warn("Unexpected failure on connection {}; closing it", connection, cause);
        }
        ctx.close();
    }
}
