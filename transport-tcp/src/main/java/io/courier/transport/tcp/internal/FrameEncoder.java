package io.courier.transport.tcp.internal;

import com.google.protobuf.CodedOutputStream;
import io.courier.transport.TransportException;
import io.courier.transport.proto.Frame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.EncoderException;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes each {@link Frame} as a varint32 length and the protobuf bytes, in one buffer (see
 * {@link io.courier.transport.tcp.TcpTransportProvider} for the layout). Other messages, such as
 * the raw bytes of {@code sendUnchecked}, pass through untouched.
 *
 * <p>A frame above the maximum is not sent: it is logged and its write fails with a
 * {@link TransportException}, and the connection stays open. The peer would only refuse it, and
 * the mistake is ours, not the peer's.
 *
 * <p>Public only so that {@code courier-bench} can measure it (the {@code codec} JMH benchmarks);
 * it is internal all the same.
 */
@ChannelHandler.Sharable
public final class FrameEncoder extends ChannelOutboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(FrameEncoder.class);

    private final int maxFrameBytes;

    public FrameEncoder(int maxFrameBytes) {
        this.maxFrameBytes = maxFrameBytes;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof Frame frame)) {
            ctx.write(msg, promise);
            return;
        }
        int size = frame.getSerializedSize();
        if (size > maxFrameBytes) {
            String detail = "Refusing to send a " + frame.getBodyCase() + " frame of " + size
                + " bytes on " + ctx.channel() + ": above the maximum of " + maxFrameBytes + " bytes";
            LOG.warn(detail);
            // Failing a void promise would fire exceptionCaught, which closes the connection.
            if (!promise.isVoid()) {
                promise.setFailure(new TransportException(detail));
            }
            return;
        }
        ctx.write(encode(ctx.alloc(), frame), promise);
    }

    /** varint32(size) + the frame, in a buffer the caller owns. */
    static ByteBuf encode(ByteBufAllocator alloc, Frame frame) {
        int size = frame.getSerializedSize();
        ByteBuf buf = alloc.ioBuffer(CodedOutputStream.computeUInt32SizeNoTag(size) + size);
        try {
            writeVarint32(buf, size);
            // Serialise straight into the buffer's memory: no intermediate byte[].
            CodedOutputStream out = CodedOutputStream.newInstance(buf.nioBuffer(buf.writerIndex(), size));
            frame.writeTo(out);
            out.checkNoSpaceLeft();
            buf.writerIndex(buf.writerIndex() + size);
            return buf;
        } catch (IOException | RuntimeException e) {
            buf.release();
            throw new EncoderException("Cannot encode a " + frame.getBodyCase() + " frame of " + size + " bytes", e);
        }
    }

    /** varint32(length) + bytes, unchecked: for clients that send what a well-behaved one never would. */
    static ByteBuf encodeUnchecked(ByteBufAllocator alloc, byte[] encodedFrame) {
        ByteBuf buf = alloc.ioBuffer(CodedOutputStream.computeUInt32SizeNoTag(encodedFrame.length) + encodedFrame.length);
        writeVarint32(buf, encodedFrame.length);
        return buf.writeBytes(encodedFrame);
    }

    private static void writeVarint32(ByteBuf buf, int value) {
        while ((value & ~0x7F) != 0) {
            buf.writeByte((value & 0x7F) | 0x80);
            value >>>= 7;
        }
        buf.writeByte(value);
    }
}
