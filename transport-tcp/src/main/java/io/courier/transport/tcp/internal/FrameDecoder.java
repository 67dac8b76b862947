package io.courier.transport.tcp.internal;

import com.google.protobuf.InvalidProtocolBufferException;
import io.courier.transport.netty.ProtocolViolation;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Splits the byte stream into {@link Frame}s: a varint32 length, then that many bytes of protobuf
 * (see {@link io.courier.transport.tcp.TcpTransportProvider} for the layout).
 *
 * <p>A declared length above the maximum is refused as soon as the prefix is read, without waiting
 * for or buffering the body, so a peer cannot make us hold more than one maximum frame. On any
 * violation — a length above the maximum, a length prefix longer than five bytes, bytes that do not
 * parse as a {@code Frame} — the decoder enters a terminal state in which it discards all further
 * input, and fires a {@link ProtocolViolation}; the connection bridge reports it to the router,
 * answers with the error and closes. A frame that parses but has no body is passed on: that is the
 * router's call.
 *
 * <p>One instance per channel; runs on the channel's event loop.
 *
 * <p>Public only so that {@code courier-bench} can measure it (the {@code codec} JMH benchmarks);
 * it is internal all the same.
 */
public final class FrameDecoder extends ByteToMessageDecoder {

    private static final Logger LOG = LoggerFactory.getLogger(FrameDecoder.class);
    private static final int MAX_VARINT32_BYTES = 5;
    private static final long INCOMPLETE = -1;
    private static final long MALFORMED = -2;

    private final int maxFrameBytes;
    private boolean failed;

    public FrameDecoder(int maxFrameBytes) {
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
            fail(ctx, in, Error.Code.MALFORMED_FRAME, "Length prefix is longer than a varint32 ("
                + MAX_VARINT32_BYTES + " bytes)");
            return;
        }
        if (length > maxFrameBytes) {
            fail(ctx, in, Error.Code.FRAME_TOO_LARGE,
                "Frame of " + length + " bytes is above the maximum of " + maxFrameBytes + " bytes");
            return;
        }
        int size = (int) length;
        if (in.readableBytes() < size) {
            in.readerIndex(start);
            return;
        }
        Frame frame;
        try {
            // Parsing copies bytes fields out (no aliasing), so the buffer may be released after.
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
        // Debug only: the peer controls how often this happens; the router counts and logs it.
        LOG.debug("Protocol violation on {}: {} {}", ctx.channel(), code, detail);
        ctx.fireUserEventTriggered(new ProtocolViolation(code, detail));
    }

    /** Reads an unsigned varint32: the value, {@link #INCOMPLETE}, or {@link #MALFORMED} past five bytes. */
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
