package io.courier.bench.codec;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import org.openjdk.jmh.infra.Blackhole;

/**
 * A transport's real Netty handlers in an {@link EmbeddedChannel}'s pipeline, entered at the
 * handler contexts rather than through {@code writeInbound}/{@code writeOutbound}.
 *
 * <p>Why: per message, {@code EmbeddedChannel} also runs its pending tasks, checks for a recorded
 * exception, goes through a {@code ChannelOutboundBuffer} and a flush, and queues the result. That
 * is test machinery, and for a 100-byte frame it would be a large share of what is timed. Entering
 * at the contexts keeps exactly what a server's pipeline does per frame — each handler's work, the
 * codecs' buffer handling ({@code ByteToMessageDecoder}'s cumulation, the
 * {@code MessageToMessage*} release of consumed messages) and Netty's context-to-context dispatch —
 * and leaves out the socket and the embedded channel.
 *
 * <pre>
 *  head | written (capture) | handlers ... | read (capture) | tail
 *          ^ write(msg) ends here            ^ read(msg) ends here
 *  read(msg) enters after "written"; write(msg) enters before "read".
 * </pre>
 *
 * <p>The embedded event loop counts every thread as its own, so calls run inline on the caller's
 * thread. Not thread-safe: one benchmark thread owns an instance.
 */
final class DirectPipeline implements AutoCloseable {

    private final EmbeddedChannel channel;
    private final ChannelHandlerContext socketEnd;
    private final ChannelHandlerContext applicationEnd;
    private final List<Object> written = new ArrayList<>(2);
    private final List<Object> read = new ArrayList<>(2);

    /** {@code handlers} in pipeline order, as the transport's initializer adds them. */
    DirectPipeline(ChannelHandler... handlers) {
        channel = new EmbeddedChannel();
        channel.pipeline().addLast("written", new WrittenCapture());
        channel.pipeline().addLast(handlers);
        channel.pipeline().addLast("read", new ReadCapture());
        socketEnd = channel.pipeline().context("written");
        applicationEnd = channel.pipeline().context("read");
    }

    /**
     * Writes {@code message} through the outbound handlers, as the connection does.
     *
     * @return what reached the socket end, in order; reused by the next call, and the caller
     *     releases what is in it.
     */
    List<Object> write(Object message) {
        written.clear();
        // A void promise, as the connections use for frames: no promise object per write.
        applicationEnd.write(message, applicationEnd.voidPromise());
        return written;
    }

    /**
     * Hands {@code message} to the inbound handlers as one socket read (a read, then its read
     * complete); the handlers own it from here.
     *
     * @return what reached the application end; reused by the next call.
     */
    List<Object> read(Object message) {
        read.clear();
        socketEnd.fireChannelRead(message);
        socketEnd.fireChannelReadComplete();
        return read;
    }

    /**
     * Encodes {@code message} and returns the bytes as one unpooled direct buffer, the caller's
     * to release; fails if a handler failed or wrote something that is not bytes.
     */
    ByteBuf encodeToBuffer(Object message) {
        List<Object> out = write(message);
        channel.checkException();
        ByteBuf bytes = Unpooled.directBuffer();
        try {
            for (Object o : out) {
                if (!(o instanceof ByteBuf buf)) {
                    throw new IllegalStateException("Expected bytes at the socket end, got " + o);
                }
                bytes.writeBytes(buf, buf.readerIndex(), buf.readableBytes());
            }
            return bytes;
        } catch (RuntimeException e) {
            bytes.release();
            throw e;
        } finally {
            releaseAll(out);
        }
    }

    /** Decodes {@code message} and returns the one object that came out; fails otherwise. */
    Object decodeOne(Object message) {
        List<Object> in = read(message);
        channel.checkException();
        if (in.size() != 1) {
            releaseAll(in);
            throw new IllegalStateException("Expected one message at the application end, got " + in);
        }
        return in.get(0);
    }

    /** Hands every message in {@code messages} to {@code blackhole}, then releases them all. */
    static void consumeAndRelease(List<Object> messages, Blackhole blackhole) {
        for (int i = 0; i < messages.size(); i++) {
            blackhole.consume(messages.get(i));
        }
        releaseAll(messages);
    }

    /** Releases every reference-counted message in {@code messages} and empties it. */
    static void releaseAll(List<Object> messages) {
        for (Object message : messages) {
            ReferenceCountUtil.release(message);
        }
        messages.clear();
    }

    @Override
    public void close() {
        releaseAll(written);
        releaseAll(read);
        channel.finishAndReleaseAll();
    }

    /** Stands in for the socket: keeps what the outbound handlers wrote. */
    private final class WrittenCapture extends ChannelOutboundHandlerAdapter {
        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            written.add(msg);
        }
    }

    /** Stands in for the connection bridge: keeps what the inbound handlers produced. */
    private final class ReadCapture extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            read.add(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            // The read ends here, as it does at the bridge.
        }
    }
}
