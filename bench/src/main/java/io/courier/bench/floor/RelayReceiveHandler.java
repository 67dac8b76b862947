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
 * the sink. Reports a failure, and closes, on a frame too short to hold a timestamp or an error.
 */
final class RelayReceiveHandler extends ChannelInboundHandlerAdapter {

    private final int index;
    private final LoadSink sink;

    RelayReceiveHandler(int index, LoadSink sink) {
        this.index = index;
        this.sink = sink;
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
            sink.received(frame.getLong(frame.readerIndex()));
        } finally {
            ReferenceCountUtil.release(msg);
        }
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
