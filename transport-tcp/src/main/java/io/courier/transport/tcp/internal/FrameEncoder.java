package io.courier.transport.tcp.internal;

import com.google.protobuf.CodedOutputStream;
import io.courier.transport.proto.Frame;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.MessageToByteEncoder;
import java.io.IOException;

/**
 * Writes a {@link Frame} as a varint32 length and the protobuf bytes, into one buffer. Refuses
 * frames above the maximum: the peer would only refuse them. Raw {@link ByteBuf}s (from
 * {@code sendUnchecked}) pass through untouched.
 */
@ChannelHandler.Sharable
final class FrameEncoder extends MessageToByteEncoder<Frame> {

    private final int maxFrameBytes;

    FrameEncoder(int maxFrameBytes) {
        super(Frame.class);
        this.maxFrameBytes = maxFrameBytes;
    }

    @Override
    protected ByteBuf allocateBuffer(ChannelHandlerContext ctx, Frame frame, boolean preferDirect) {
        int size = frame.getSerializedSize();
        return ctx.alloc().ioBuffer(CodedOutputStream.computeUInt32SizeNoTag(size) + size);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Frame frame, ByteBuf out) throws IOException {
        int size = frame.getSerializedSize();
        if (size > maxFrameBytes) {
            throw new EncoderException("Refusing to send a frame of " + size + " bytes, above the maximum of "
                + maxFrameBytes + " bytes (" + frame.getBodyCase() + ")");
        }
        int total = CodedOutputStream.computeUInt32SizeNoTag(size) + size;
        CodedOutputStream coded = CodedOutputStream.newInstance(out.nioBuffer(out.writerIndex(), total));
        coded.writeUInt32NoTag(size);
        frame.writeTo(coded);
        coded.flush();
        out.writerIndex(out.writerIndex() + total);
    }

    /** varint32(length) + bytes, for clients that send what a well-behaved one never would. */
    static ByteBuf unchecked(io.netty.buffer.ByteBufAllocator alloc, byte[] encodedFrame) {
        int prefix = CodedOutputStream.computeUInt32SizeNoTag(encodedFrame.length);
        ByteBuf buf = alloc.ioBuffer(prefix + encodedFrame.length);
        int length = encodedFrame.length;
        while ((length & ~0x7F) != 0) {
            buf.writeByte((length & 0x7F) | 0x80);
            length >>>= 7;
        }
        buf.writeByte(length);
        buf.writeBytes(encodedFrame);
        return buf;
    }
}
