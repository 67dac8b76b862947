package io.courier.transport.netty;

import io.courier.transport.Frames;
import io.courier.transport.proto.Error;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;

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
 * <p>One instance per channel; it fires once.
 */
public final class UnreadOutputLimit extends ChannelOutboundHandlerAdapter {

    private final String transport;
    private final long limitBytes;
    private boolean tripped;

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
        ctx.write(msg, promise);
        if (tripped) {
            return;
        }
        long waiting = pendingBytes(ctx.channel());
        if (waiting > limitBytes) {
            tripped = true;
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
