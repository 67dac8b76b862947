package io.courier.bench.floor;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.net.SocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One side of a relayed pair. It writes every buffer it reads, as is, to the other side's socket
 * and flushes once per read burst; nothing is copied or decoded. The sender's bytes go to the
 * receiver, and a receiver that answers (a round trip) has its bytes go back to the sender.
 * Back-pressure is TCP's own, both ways: when one socket stops being writable the other stops
 * being read, so the relay's outbound buffers stay bounded. Either side closing closes the other.
 *
 * <p>Runs on the relay's one event loop thread, as does its partner, so the hand-over is a plain
 * method call.
 */
final class RelayLinkHandler extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(RelayLinkHandler.class);

    private final byte role;
    private final int index;
    private final RelayPairs pairs;
    private ChannelHandlerContext ctx;
    private Channel peer;

    RelayLinkHandler(byte role, int index, RelayPairs pairs) {
        this.role = role;
        this.index = index;
        this.pairs = pairs;
    }

    byte role() {
        return role;
    }

    int index() {
        return index;
    }

    SocketAddress remoteAddress() {
        return ctx.channel().remoteAddress();
    }

    /** Links this side to {@code other} (null for an idle socket) and tells the client it is joined. */
    void join(RelayLinkHandler other) {
        peer = other == null ? null : other.ctx.channel();
        ctx.writeAndFlush(ctx.alloc().buffer(1).writeByte(RelayProtocol.JOINED), ctx.voidPromise());
    }

    void close() {
        ctx.close();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (peer != null) {
            peer.write(msg, peer.voidPromise());
            return;
        }
        ReferenceCountUtil.release(msg);
        LOG.warn("Relay {} of pair {} from {} wrote {}; closing it", RelayProtocol.roleName(role), index,
            ctx.channel().remoteAddress(), role == RelayProtocol.IDLE ? "although it is idle" : "before its pair was joined");
        ctx.close();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (peer != null) {
            peer.flush();
            if (!peer.isWritable()) {
                ctx.channel().config().setAutoRead(false);
            }
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (peer != null) {
            peer.config().setAutoRead(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        pairs.leave(this);
        if (peer != null) {
            peer.close();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.warn("Relay {} of pair {} from {} failed; closing the pair", RelayProtocol.roleName(role), index,
            ctx.channel().remoteAddress(), cause);
        ctx.close();
        if (cause instanceof Error error) {
            throw error;
        }
    }
}
