package io.courier.transport.tcp.internal;

import com.google.protobuf.InvalidProtocolBufferException;
import io.courier.transport.proto.Error;
import io.courier.transport.netty.ProtocolViolation;
import io.courier.transport.proto.Frame;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits the byte stream into {@link Frame}s: a varint32 length, then that many bytes of protobuf.
 *
 * <p>A length above the maximum is refused as soon as the prefix is read, without waiting for (or
 * buffering) the body. On any violation the decoder enters a terminal state — it discards all
 * further input — and fires a {@link ProtocolViolation} event; the connection bridge answers with
 * the error and closes.
 */
final class FrameDecoder extends ByteToMessageDecoder {

    private static final int MAX_VARINT32_BYTES = 5;

    private final int maxFrameBytes;
    private boolean failed;

    FrameDecoder(int maxFrameBytes) {
        this.maxFrameBytes = maxFrameBytes;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        int start = in.readerIndex();
        long length = readVarint32(in);
        if (length == INCOMPLETE) {
            in.readerIndex(start);
            return;
        }
        if (length == MALFORMED) {
            fail(ctx, in, Error.Code.MALFORMED_FRAME, "Length prefix is not a varint32");
            return;
        }
        if (length > maxFrameBytes) {
            fail(ctx, in, Error.Code.FRAME_TOO_LARGE,
                "Frame of " + length + " bytes is above the maximum of " + maxFrameBytes + " bytes");
            return;
        }
        if (in.readableBytes() < length) {
            in.readerIndex(start);
            return;
        }
        int size = (int) length;
        Frame frame;
        try {
            frame = Frame.parseFrom(in.nioBuffer(in.readerIndex(), size));
        } catch (InvalidProtocolBufferException e) {
            fail(ctx, in, Error.Code.MALFORMED_FRAME, "Bytes do not decode as a Frame: " + e.getMessage());
            return;
        }
        in.skipBytes(size);
        out.add(frame);
    }

    private void fail(ChannelHandlerContext ctx, ByteBuf in, Error.Code code, String detail) {
        failed = true;
        in.skipBytes(in.readableBytes());
        ctx.fireUserEventTriggered(new ProtocolViolation(code, detail));
    }

    private static final long INCOMPLETE = -1;
    private static final long MALFORMED = -2;

    /** Reads an unsigned varint32; INCOMPLETE if more bytes are needed, MALFORMED past 5 bytes. */
    private static long readVarint32(ByteBuf in) {
        long result = 0;
        for (int i = 0; i < MAX_VARINT32_BYTES; i++) {
            if (!in.isReadable()) {
                return INCOMPLETE;
            }
            byte b = in.readByte();
            result |= (long) (b & 0x7F) << (7 * i);
            if (b >= 0) {
                return result;
            }
        }
        return MALFORMED;
    }

}
