package io.courier.bench.floor;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.net.SocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One side of a relayed pair. On the sender's side it writes every buffer it reads, as is, to the
 * receiver's socket and flushes once per read burst; nothing is copied or decoded. Back-pressure is
 * TCP's own: when the receiver's socket stops being writable the sender's socket stops being read,
 * so the relay's outbound buffer stays bounded. Either side closing closes the other.
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
        if (role == RelayProtocol.SENDER && peer != null) {
            peer.write(msg, peer.voidPromise());
            return;
        }
        ReferenceCountUtil.release(msg);
        LOG.warn("Relay {} of pair {} from {} wrote {}; closing it", RelayProtocol.roleName(role), index,
            ctx.channel().remoteAddress(), peer == null ? "before its pair was joined" : "although it only receives");
        ctx.close();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (peer != null && role == RelayProtocol.SENDER) {
            peer.flush();
            if (!peer.isWritable()) {
                ctx.channel().config().setAutoRead(false);
            }
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (role == RelayProtocol.RECEIVER && peer != null) {
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
