package io.courier.transport.udp;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DatagramPacket;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A client-side pipeline handler that makes the link bad in both directions: it drops 10% of
 * datagrams, duplicates 5%, and holds back 10% until the next one has passed (reordering).
 */
final class LossyLink extends ChannelDuplexHandler {

    private final Random random;
    final AtomicLong dropped = new AtomicLong();
    final AtomicLong duplicated = new AtomicLong();
    final AtomicLong reordered = new AtomicLong();
    private DatagramPacket heldOut;
    private DatagramPacket heldIn;

    LossyLink(long seed) {
        this.random = new Random(seed);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof DatagramPacket packet)) {
            ctx.write(msg, promise);
            return;
        }
        promise.setSuccess();
        double r = random.nextDouble();
        if (r < 0.10) {
            dropped.incrementAndGet();
            packet.release();
            return;
        }
        if (r < 0.15) {
            duplicated.incrementAndGet();
            ctx.write(packet.retainedDuplicate());
        }
        if (heldOut == null && random.nextDouble() < 0.10) {
            reordered.incrementAndGet();
            heldOut = packet;
            return;
        }
        ctx.write(packet);
        if (heldOut != null) {
            ctx.write(heldOut);
            heldOut = null;
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof DatagramPacket packet)) {
            ctx.fireChannelRead(msg);
            return;
        }
        double r = random.nextDouble();
        if (r < 0.10) {
            dropped.incrementAndGet();
            packet.release();
            return;
        }
        if (r < 0.15) {
            duplicated.incrementAndGet();
            ctx.fireChannelRead(packet.retainedDuplicate());
        }
        if (heldIn == null && random.nextDouble() < 0.10) {
            reordered.incrementAndGet();
            heldIn = packet;
            return;
        }
        ctx.fireChannelRead(packet);
        if (heldIn != null) {
            ctx.fireChannelRead(heldIn);
            heldIn = null;
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (heldOut != null) {
            heldOut.release();
        }
        if (heldIn != null) {
            heldIn.release();
        }
    }
}
