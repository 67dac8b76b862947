package io.courier.bench.floor;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The client's side of joining a relay pair: says the header when the socket connects, waits for
 * the relay's {@link RelayProtocol#JOINED} byte, then completes {@code joined} and leaves the
 * pipeline (any bytes after it go on to the next handler). Anything else, or the socket closing
 * first, fails {@code joined} with the address, the pair and the role in the message.
 */
final class RelayJoinDecoder extends ByteToMessageDecoder {

    private final String relay;
    private final byte role;
    private final int index;
    private final CompletableFuture<Channel> joined;

    RelayJoinDecoder(String relay, byte role, int index, CompletableFuture<Channel> joined) {
        this.relay = relay;
        this.role = role;
        this.index = index;
        this.joined = joined;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        ctx.writeAndFlush(ctx.alloc().buffer(RelayProtocol.HEADER_BYTES).writeByte(role).writeInt(index),
            ctx.voidPromise());
        super.channelActive(ctx);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (!in.isReadable()) {
            return;
        }
        byte answer = in.readByte();
        if (answer != RelayProtocol.JOINED) {
            in.skipBytes(in.readableBytes());
            joined.completeExceptionally(new IllegalStateException(describe() + " answered " + answer
                + " instead of " + RelayProtocol.JOINED + ": is " + relay + " a relay floor?"));
            ctx.close();
            return;
        }
        ctx.pipeline().remove(this);
        joined.complete(ctx.channel());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        joined.completeExceptionally(new IllegalStateException(describe() + " closed the connection before joining"));
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        joined.completeExceptionally(new IllegalStateException(describe() + " failed before joining", cause));
        ctx.close();
    }

    private String describe() {
        return "Relay " + relay + " (pair " + index + ", " + RelayProtocol.roleName(role) + ")";
    }
}
