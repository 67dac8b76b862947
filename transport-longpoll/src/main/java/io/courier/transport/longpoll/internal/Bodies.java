package io.courier.transport.longpoll.internal;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.courier.transport.proto.Frame;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes and decodes request and response bodies: length-prefixed protobuf, or a JSON array.
 *
 * <p>Public only so that {@code courier-bench} can measure it (the {@code codec} JMH benchmarks);
 * it is internal all the same.
 */
public final class Bodies {

    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().omittingInsignificantWhitespace();
    // Unknown fields are ignored: the schema may gain optional fields, and an older server must not
    // disconnect a newer client for sending one.
    private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();

    private Bodies() {
    }

    /** Thrown for a body that does not decode, with a message naming why. */
    public static final class BadBody extends Exception {
        final boolean tooLarge;

        BadBody(String message, boolean tooLarge) {
            super(message);
            this.tooLarge = tooLarge;
        }
    }

    public static byte[] encode(List<Frame> frames, boolean json) {
        if (json) {
            StringBuilder out = new StringBuilder("[");
            for (Frame frame : frames) {
                if (out.length() > 1) {
                    out.append(',');
                }
                try {
                    out.append(PRINTER.print(frame));
                } catch (InvalidProtocolBufferException e) {
                    throw new IllegalStateException("A frame does not print as JSON", e);
                }
            }
            return out.append(']').toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            CodedOutputStream coded = CodedOutputStream.newInstance(out);
            for (Frame frame : frames) {
                coded.writeUInt32NoTag(frame.getSerializedSize());
                frame.writeTo(coded);
            }
            coded.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Length-prefixed raw byte strings, for clients that send unchecked frames. */
    static void writeRaw(ByteArrayOutputStream out, byte[] encodedFrame) {
        int length = encodedFrame.length;
        while ((length & ~0x7F) != 0) {
            out.write((length & 0x7F) | 0x80);
            length >>>= 7;
        }
        out.write(length);
        out.writeBytes(encodedFrame);
    }

    public static List<Frame> decode(byte[] body, boolean json, int maxFrameBytes) throws BadBody {
        List<Frame> frames = new ArrayList<>();
        if (json) {
            String text = new String(body, java.nio.charset.StandardCharsets.UTF_8).trim();
            if (!text.startsWith("[") || !text.endsWith("]")) {
                throw new BadBody("A JSON body must be an array of frames", false);
            }
            try {
                io.vertx.core.json.JsonArray array = new io.vertx.core.json.JsonArray(text);
                for (int i = 0; i < array.size(); i++) {
                    String one = io.vertx.core.json.Json.encode(array.getValue(i));
                    if (one.length() > maxFrameBytes) {
                        throw new BadBody("A frame of " + one.length() + " bytes is above the maximum of " + maxFrameBytes, true);
                    }
                    Frame.Builder frame = Frame.newBuilder();
                    PARSER.merge(one, frame);
                    frames.add(frame.build());
                }
            } catch (InvalidProtocolBufferException | RuntimeException e) {
                throw new BadBody("Body is not a JSON array of frames: " + e.getMessage(), false);
            }
            return frames;
        }
        ByteBuffer in = ByteBuffer.wrap(body);
        while (in.hasRemaining()) {
            long length = 0;
            int shift = 0;
            while (true) {
                if (!in.hasRemaining() || shift > 28) {
                    throw new BadBody("Truncated or malformed length prefix", false);
                }
                byte b = in.get();
                length |= (long) (b & 0x7F) << shift;
                if (b >= 0) {
                    break;
                }
                shift += 7;
            }
            if (length > maxFrameBytes) {
                throw new BadBody("Frame of " + length + " bytes is above the maximum of " + maxFrameBytes + " bytes", true);
            }
            if (length > in.remaining()) {
                throw new BadBody("Frame of " + length + " bytes is cut short at " + in.remaining(), false);
            }
            ByteBuffer slice = in.slice().limit((int) length);
            in.position(in.position() + (int) length);
            try {
                frames.add(Frame.parseFrom(slice));
            } catch (InvalidProtocolBufferException e) {
                throw new BadBody("Bytes are not a Frame: " + e.getMessage(), false);
            }
        }
        return frames;
    }
}
