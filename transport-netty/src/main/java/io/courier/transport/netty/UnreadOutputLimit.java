package io.courier.transport.netty;

import io.courier.transport.Frames;
import io.courier.transport.proto.Error;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;

/**
 * Bounds what may wait to be sent to a peer that does not read. Placed first in the pipeline
 * (next to the socket), it sees every write after encoding, and once the channel's outbound
 * buffer — bytes written and not yet taken by the kernel — holds more than the limit, it fires a
 * {@link ProtocolViolation} with {@code SLOW_CONSUMER}: the {@link ConnectionBridge} reports it to
 * the router and closes the connection with that error.
 *
 * <p>The mailbox already stops writing at the channel's high-water mark, so what passes the limit
 * is what is written whether the peer reads or not: the replies to what it keeps sending.
 *
 * <p>Once it has fired, it drops every later write of a frame (those come with the channel's void
 * promise, see {@link ChannelConnection#send}) and lets through only the writes that close the
 * connection, which come with promises of their own: the fatal error and a WebSocket close frame.
 * Frames from other threads (the storage readers' answers) may already be queued on the event
 * loop when the limit trips, and without this each of them would still pile onto the buffer of a
 * peer that does not read, until the connection closes: what waits stays within the limit, the
 * write that passed it and the closing writes. Nothing acknowledged is lost by the drop: inbox
 * entries stay pending, and the dropped answers are to requests the peer never read the answers
 * to.
 *
 * <p>One instance serves every channel of a transport; it fires once per channel. A channel that
 * tripped it carries an attribute that says so, made only then: a channel that stays within the
 * limit holds nothing for it but its place in the pipeline.
 */
@ChannelHandler.Sharable
public final class UnreadOutputLimit extends ChannelOutboundHandlerAdapter {

    private static final AttributeKey<Boolean> TRIPPED = AttributeKey.valueOf("courier.unread-output-tripped");

    private final String transport;
    private final long limitBytes;

    /**
     * @param transport  the transport's name, for the error text.
     * @param limitBytes the most bytes the outbound buffer may hold.
     */
    public UnreadOutputLimit(String transport, long limitBytes) {
        this.transport = transport;
        this.limitBytes = limitBytes;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (ctx.channel().hasAttr(TRIPPED)) {
            if (promise.isVoid()) {
                ReferenceCountUtil.release(msg);
            } else {
                ctx.write(msg, promise);
            }
            return;
        }
        ctx.write(msg, promise);
        long waiting = pendingBytes(ctx.channel());
        if (waiting > limitBytes) {
            ctx.channel().attr(TRIPPED).set(Boolean.TRUE);
            ctx.fireUserEventTriggered(new ProtocolViolation(Error.Code.SLOW_CONSUMER,
                Frames.slowConsumer(transport, waiting, limitBytes).getText()));
        }
    }

    /** What {@code channel}'s outbound buffer holds, written or flushed but not yet sent; 0 once closed. */
    static long pendingBytes(io.netty.channel.Channel channel) {
        ChannelOutboundBuffer buffer = channel.unsafe().outboundBuffer();
        return buffer == null ? 0 : buffer.totalPendingWriteBytes();
    }
}
