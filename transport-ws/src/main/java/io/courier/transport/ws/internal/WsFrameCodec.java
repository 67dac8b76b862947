package io.courier.transport.ws.internal;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.courier.transport.netty.ProtocolViolation;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageCodec;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * One Courier {@link Frame} per WebSocket message: binary protobuf on {@code courier.v1.proto},
 * protobuf's JSON mapping in text messages on {@code courier.v1.json}. A message of the wrong kind
 * for the negotiated sub-protocol, one above the size limit, or one that does not decode fires a
 * {@link ProtocolViolation}; after that the codec drops all input.
 *
 * <p>Public only so that {@code courier-bench} can measure it (the {@code codec} JMH benchmarks);
 * it is internal all the same.
 */
public final class WsFrameCodec extends MessageToMessageCodec<WebSocketFrame, Frame> {

    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().omittingInsignificantWhitespace();
    // Unknown fields are ignored: the schema may gain optional fields, and an older server must not
    // disconnect a newer client for sending one.
    private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();

    private final boolean json;
    private final int maxFrameBytes;
    private boolean failed;

    public WsFrameCodec(boolean json, int maxFrameBytes) {
        super(WebSocketFrame.class, Frame.class);
        this.json = json;
        this.maxFrameBytes = maxFrameBytes;
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Frame frame, List<Object> out) throws Exception {
        if (json) {
            out.add(new TextWebSocketFrame(PRINTER.print(frame)));
            return;
        }
        int size = frame.getSerializedSize();
        ByteBuf buf = ctx.alloc().ioBuffer(size);
        try {
            CodedOutputStream coded = CodedOutputStream.newInstance(buf.nioBuffer(0, size));
            frame.writeTo(coded);
            coded.flush();
            buf.writerIndex(size);
            out.add(new BinaryWebSocketFrame(buf));
        } catch (RuntimeException | java.io.IOException e) {
            buf.release();
            throw e;
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, WebSocketFrame message, List<Object> out) {
        if (failed) {
            return;
        }
        ByteBuf content = message.content();
        if (content.readableBytes() > maxFrameBytes) {
            fail(ctx, Error.Code.FRAME_TOO_LARGE, "Message of " + content.readableBytes()
                + " bytes is above the maximum of " + maxFrameBytes + " bytes");
            return;
        }
        boolean text = message instanceof TextWebSocketFrame;
        if (text != json) {
            fail(ctx, Error.Code.PROTOCOL_VIOLATION, (text ? "A text" : "A binary") + " message on the "
                + (json ? "courier.v1.json (text)" : "courier.v1.proto (binary)") + " sub-protocol");
            return;
        }
        try {
            if (json) {
                Frame.Builder builder = Frame.newBuilder();
                PARSER.merge(((TextWebSocketFrame) message).text(), builder);
                out.add(builder.build());
            } else {
                ByteBuffer bytes = content.nioBuffer();
                out.add(Frame.parseFrom(bytes));
            }
        } catch (InvalidProtocolBufferException e) {
            fail(ctx, Error.Code.MALFORMED_FRAME, (json ? "Text is not a Frame in JSON: " : "Bytes are not a Frame: ")
                + e.getMessage());
        }
    }

    private void fail(ChannelHandlerContext ctx, Error.Code code, String detail) {
        failed = true;
        ctx.fireUserEventTriggered(new ProtocolViolation(code, detail));
    }
}
