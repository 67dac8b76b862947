package io.courier.transport.udp;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DatagramPacket;
import java.util.Random;
import java.util.function.Consumer;
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
    private final Direction out = new Direction();
    private final Direction in = new Direction();

    LossyLink(long seed) {
        this.random = new Random(seed);
    }

    /** One direction of the link: what it holds back to reorder. */
    private final class Direction {
        private DatagramPacket held;

        void pass(DatagramPacket packet, Consumer<DatagramPacket> onward) {
            double r = random.nextDouble();
            if (r < 0.10) {
                dropped.incrementAndGet();
                packet.release();
                return;
            }
            if (r < 0.15) {
                duplicated.incrementAndGet();
                onward.accept(packet.retainedDuplicate());
            }
            if (held == null && random.nextDouble() < 0.10) {
                reordered.incrementAndGet();
                held = packet;
                return;
            }
            onward.accept(packet);
            if (held != null) {
                onward.accept(held);
                held = null;
            }
        }

        void release() {
            if (held != null) {
                held.release();
                held = null;
            }
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof DatagramPacket packet)) {
            ctx.write(msg, promise);
            return;
        }
        promise.setSuccess();
        out.pass(packet, ctx::write);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof DatagramPacket packet) {
            in.pass(packet, ctx::fireChannelRead);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        out.release();
        in.release();
    }
}
