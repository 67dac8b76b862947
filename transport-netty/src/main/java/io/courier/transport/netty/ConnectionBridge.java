package io.courier.transport.netty;

import io.courier.transport.ConnectionHandler;
import io.courier.transport.Frames;
import io.courier.transport.IoThreadErrors;
import io.courier.transport.proto.Frame;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.CodecException;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.compression.DecompressionException;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bridges one channel's events to the {@link ConnectionHandler} (the router): decoded
 * {@link Frame}s in, {@link ProtocolViolation} events answered with a fatal error, writability and
 * close passed on. Whatever fails while the connection is served — an exception from a handler or a
 * task on its {@link ChannelConnection#executor()}, an {@link Error} such as running out of direct
 * memory — closes this connection and no other ({@link IoThreadErrors} says which Errors also
 * stop the process). The connection opens when this handler is added to an active channel (a
 * WebSocket adds it after the handshake) or when the channel becomes active.
 */
public final class ConnectionBridge extends SimpleChannelInboundHandler<Frame> {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionBridge.class);

    private final ConnectionHandler handler;
    private final AtomicInteger open;
    private final Function<Channel, ChannelConnection> factory;
    private ChannelConnection connection;
    private boolean closed;
    private boolean errorReported;

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
            if (closed) {
                // The router heard the close already; what the peer still sent changes nothing.
                return;
            }
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
        closed();
        ctx.fireChannelInactive();
    }

    /**
     * The channel is gone (its pipeline is emptied on deregistration). Usually channelInactive
     * has told the router already; but a handler before this one may fail while the channel closes
     * and not pass channelInactive on — Netty's permessage-deflate decoder does when the client's
     * compressed data is corrupt — and the router must hear of the close all the same, or it keeps
     * the session.
     */
    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        closed();
    }

    /** Tells the router the connection closed, once. */
    private void closed() {
        if (connection != null && !closed) {
            closed = true;
            open.decrementAndGet();
            handler.onClose(connection);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (peerVanished(cause)) {
            // The peer reset or vanished, maybe in the middle of a fragmented message: ordinary on
            // the internet, not worth a stack trace.
            LOG.debug("Connection {} failed: {}", connection, cause.toString());
        } else if (peerSentBadInput(cause)) {
            // The peer sent bytes the codec refuses (invalid UTF-8 in a text message, a broken
            // WebSocket frame, permessage-deflate data that does not inflate): the client's
            // mistake, worth one line naming it, not a stack trace.
            // The handler logs and counts it, naming the connection and its user.
            if (connection != null && !closed) {
                handler.onTransportError(connection, io.courier.transport.proto.Error.Code.MALFORMED_FRAME,
                    "invalid input, closing: " + cause.getMessage());
            } else if (connection != null) {
                // Bytes that arrived while the channel closed: the router heard the close already.
                LOG.debug("Connection {} sent invalid input after it closed: {}", connection, cause.getMessage());
            } else {
                LOG.info("{} sent invalid input, closing: {}", ctx.channel().remoteAddress(), cause.getMessage());
            }
        } else if (cause instanceof Error error) {
            ioThreadError(ctx, error);
            return;
        } else {
            LOG.warn("Unexpected failure on connection {}; closing it", connection, cause);
        }
        ctx.close();
    }

    /**
     * True for a failure the peer caused — it vanished, or sent input a codec refuses — which this
     * bridge logs as one line and closes on; anything else is a bug, logged with its stack trace.
     */
    public static boolean causedByPeer(Throwable cause) {
        return peerVanished(cause) || peerSentBadInput(cause);
    }

    private static boolean peerVanished(Throwable cause) {
        return cause instanceof IOException || cause instanceof PrematureChannelClosureException;
    }

    private static boolean peerSentBadInput(Throwable cause) {
        return cause instanceof CorruptedFrameException || cause instanceof TooLongFrameException
            || cause instanceof DecompressionException
            // a codec's own refusal, wrapped by the decoder that called it: permessage-deflate data
            // that inflates to nothing ("cannot read uncompressed buffer"); a decoder exception
            // around anything else (a NullPointerException, say) is a bug
            || cause instanceof DecoderException && cause.getCause() instanceof CodecException;
    }

    /**
     * An Error while serving this connection (see {@link IoThreadErrors}): reported once, the
     * connection closed — which returns its buffers — and, when not recoverable, escalated.
     */
    private void ioThreadError(ChannelHandlerContext ctx, Error error) {
        if (!errorReported) {
            errorReported = true;
            handler.onIoThreadError(connection == null ? "netty" : connection.transport(), ctx.channel().remoteAddress(),
                connection, error);
        }
        ctx.close();
        IoThreadErrors.escalate(error);
    }
}
