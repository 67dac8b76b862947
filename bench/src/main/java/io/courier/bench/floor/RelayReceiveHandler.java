package io.courier.bench.floor;

import io.courier.bench.load.LoadSink;
import io.courier.bench.load.Payloads;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * A relay receiver's last handler: reads the scheduled send time from each frame (after
 * {@link io.netty.handler.codec.LengthFieldBasedFrameDecoder} has stripped the length) and tells
 * the sink — or, as a round trip's receiver, writes the frame back, flushed once per read burst.
 * Reports a failure, and closes, on a frame too short to hold a timestamp or an error.
 */
final class RelayReceiveHandler extends ChannelInboundHandlerAdapter {

    private final int index;
    private final LoadSink sink;
    private final boolean reply;

    /**
     * @param reply whether to write each frame straight back (a round trip's receiver, whose answer
     *              the relay carries to the sender) instead of telling the sink.
     */
    RelayReceiveHandler(int index, LoadSink sink, boolean reply) {
        this.index = index;
        this.sink = sink;
        this.reply = reply;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            ByteBuf frame = (ByteBuf) msg;
            if (frame.readableBytes() < Payloads.MIN_SIZE) {
                sink.failed("relay receiver of pair " + index + " got a " + frame.readableBytes()
                    + "-byte frame, too short for a timestamp");
                ctx.close();
                return;
            }
            if (reply) {
                ByteBuf answer = ctx.alloc().buffer(RelayProtocol.LENGTH_BYTES + frame.readableBytes());
                answer.writeInt(frame.readableBytes()).writeBytes(frame, frame.readerIndex(), frame.readableBytes());
                ctx.write(answer, ctx.voidPromise());
            } else {
                sink.received(frame.getLong(frame.readerIndex()));
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (reply) {
            ctx.flush();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        sink.failed("relay receiver of pair " + index + ": " + cause);
        ctx.close();
        if (cause instanceof Error error) {
            throw error;
        }
    }
}
