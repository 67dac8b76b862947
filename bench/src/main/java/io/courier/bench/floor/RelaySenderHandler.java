package io.courier.bench.floor;

import io.courier.bench.load.LoadSink;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * A relay sender's last handler. The relay never writes to a sender after joining it, so anything
 * read is dropped; what matters here is that a failed write (sends use the void promise) reaches
 * the sink as a failure instead of vanishing.
 */
final class RelaySenderHandler extends ChannelInboundHandlerAdapter {

    private final int index;
    private final LoadSink sink;

    RelaySenderHandler(int index, LoadSink sink) {
        this.index = index;
        this.sink = sink;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        sink.failed("relay sender of pair " + index + ": " + cause);
        ctx.close();
        if (cause instanceof Error error) {
            throw error;
        }
    }
}
