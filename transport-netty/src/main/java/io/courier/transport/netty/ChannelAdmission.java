package io.courier.transport.netty;

import io.courier.transport.ConnectionGate;
import io.courier.transport.proto.Error;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * An accepted channel's place in the server's {@link ConnectionGate}, taken when the channel is
 * initialised (before the router hears of it) and released when the channel closes.
 *
 * <p>Until the {@link ConnectionBridge} opens a connection on the channel (a WebSocket does so only
 * after its upgrade), a refusal or an eviction is answered with the transport's raw bytes for it
 * (TCP: an error frame; WebSocket: an HTTP 503), written below every codec; afterwards an eviction
 * is the connection's {@link ChannelConnection#closeWithError}. Either way the channel then waits,
 * as after any fatal error, for the peer to close or for {@link #LINGER_SECONDS}, unless the gate
 * {@linkplain #abort() aborts} it sooner.
 */
public final class ChannelAdmission implements ConnectionGate.Evictable {

    private static final AttributeKey<ChannelAdmission> KEY = AttributeKey.valueOf("courier.admission");
    private static final long LINGER_SECONDS = 2;

    private final Channel channel;
    private final Function<Error, ByteBuf> answer;
    private volatile ChannelConnection connection;
    private ConnectionGate.Admission admission;

    private ChannelAdmission(Channel channel, Function<Error, ByteBuf> answer) {
        this.channel = channel;
        this.answer = answer;
    }

    /**
     * Asks {@code gate} to admit {@code channel}. When refused, answers with {@code answer}'s
     * bytes, closes, and returns false: the caller installs no pipeline and the router never hears
     * of the channel.
     *
     * @param answer the bytes that tell the client an error before a connection is open: a
     *               refusal, or an eviction of a channel that has no connection yet.
     */
    public static boolean admit(ConnectionGate gate, Channel channel, String transport, Function<Error, ByteBuf> answer) {
        ChannelAdmission place = new ChannelAdmission(channel, answer);
        java.net.InetAddress source = channel.remoteAddress() instanceof InetSocketAddress remote ? remote.getAddress() : null;
        ConnectionGate.Admission admission = gate.admit(source, transport, place);
        place.admission = admission;
        channel.closeFuture().addListener(closed -> admission.release());
        if (admission.admitted()) {
            channel.attr(KEY).set(place);
            return true;
        }
        place.answerAndClose(admission.refusal());
        return false;
    }

    /** The bridge opened {@code connection} on an admitted channel. */
    static void opened(ChannelConnection connection) {
        ChannelAdmission place = connection.channel().attr(KEY).get();
        if (place != null) {
            place.connection = connection;
            place.admission.opened();
        }
    }

    /** The router accepted the hello of the channel's connection. */
    static void authenticated(Channel channel) {
        ChannelAdmission place = channel.attr(KEY).get();
        if (place != null) {
            place.admission.authenticated();
        }
    }

    @Override
    public void evict(Error reason) {
        ChannelConnection open = connection;
        if (open != null) {
            open.closeWithError(reason);
        } else {
            channel.eventLoop().execute(() -> {
                ChannelConnection now = connection;
                if (now != null) {
                    now.closeWithError(reason);
                } else {
                    answerAndClose(reason);
                }
            });
        }
    }

    @Override
    public void abort() {
        channel.close();
    }

    /**
     * Writes the answer from the head of the pipeline (past any codec), half-closes, drops what
     * the peer still sends, and closes once the peer does or the linger time has passed. Closing
     * at once with unread input would make the kernel send a reset that can destroy the answer.
     */
    private void answerAndClose(Error reason) {
        if (!channel.isActive()) {
            channel.close();
            return;
        }
        if (channel.pipeline().get(DiscardInput.class) != null) {
            return;
        }
        Error fatal = reason.toBuilder().setFatal(true).build();
        channel.pipeline().addFirst("refused-input", new DiscardInput());
        channel.pipeline().firstContext().writeAndFlush(answer.apply(fatal)).addListener(written -> {
            if (written.isSuccess() && channel instanceof SocketChannel socket) {
                socket.shutdownOutput().addListener(ignored ->
                    channel.eventLoop().schedule(() -> channel.close(), LINGER_SECONDS, TimeUnit.SECONDS));
            } else {
                channel.close();
            }
        });
    }

    /** After a refusal nothing the peer sends is read; its close closes the channel. */
    private static final class DiscardInput extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            // The peer half-closed (only seen with half-closure allowed): nothing more to wait for.
            if (event instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
                ctx.close();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof java.lang.Error error) {
                throw error;
            }
            // A reset from a peer that was refused: nothing to tell anyone.
            ctx.close();
        }
    }
}
