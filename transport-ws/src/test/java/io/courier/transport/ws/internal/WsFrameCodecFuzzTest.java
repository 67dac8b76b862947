package io.courier.transport.ws.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import io.courier.transport.netty.ProtocolViolation;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.util.ArrayList;
import java.util.List;

/**
 * Fuzzes the Courier codec over whole WebSocket messages, on both sub-protocols: any sequence of
 * text and binary messages must decode to frames or end in one protocol violation with the code
 * docs/PROTOCOL.md gives (a message above {@code max-frame-bytes}: {@code FRAME_TOO_LARGE}; the
 * other sub-protocol's kind: {@code PROTOCOL_VIOLATION}; bytes or text that are no
 * {@code Frame}: {@code MALFORMED_FRAME}), after which nothing decodes — never an exception, every
 * buffer released. A binary message decodes to exactly what protobuf parses from it, and every
 * decoded frame survives the server's own encoding unchanged, so what a client sends can be sent
 * back.
 *
 * <p>The input: a byte whose low bit picks the sub-protocol (1: {@code courier.v1.json}), then
 * messages, each a byte (low bit 1: text) and a big-endian 16-bit length, then that many bytes of
 * content; the last message takes what is left. Committed inputs:
 * {@code WsFrameCodecFuzzTestInputs} beside this class under {@code src/test/resources}.
 */
class WsFrameCodecFuzzTest {

    private static final int MAX = 1024;

    @FuzzTest(maxDuration = "20s")
    void shouldDecodeEveryMessageOrRefuseTheConnectionWithItsCode(byte[] input) throws Exception {
        if (input.length == 0) {
            return;
        }
        boolean json = (input[0] & 1) == 1;
        List<Message> messages = messages(input);
        UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(false);
        List<ProtocolViolation> violations = new ArrayList<>();
        EmbeddedChannel channel = codec(alloc, json, violations);

        // Up to the first message that must be refused, what protobuf's own parser makes of each
        // binary one. JSON is left to protobuf's JsonFormat, so a text message may also be refused
        // as MALFORMED_FRAME, which ends the decoding earlier.
        List<Frame> expected = new ArrayList<>();
        Error.Code refusal = null;
        List<WebSocketFrame> sent = new ArrayList<>();
        for (Message message : messages) {
            ByteBuf content = alloc.heapBuffer(message.content.length).writeBytes(message.content);
            WebSocketFrame frame = message.text ? new TextWebSocketFrame(content) : new BinaryWebSocketFrame(content);
            sent.add(frame);
            channel.writeInbound(frame);
            if (refusal != null) {
                continue;
            }
            if (message.content.length > MAX) {
                refusal = Error.Code.FRAME_TOO_LARGE;
            } else if (message.text != json) {
                refusal = Error.Code.PROTOCOL_VIOLATION;
            } else if (json) {
                expected.add(null);
            } else {
                try {
                    expected.add(Frame.parseFrom(message.content));
                } catch (InvalidProtocolBufferException e) {
                    refusal = Error.Code.MALFORMED_FRAME;
                }
            }
        }
        List<Frame> decoded = new ArrayList<>();
        for (Object frame; (frame = channel.readInbound()) != null; ) {
            decoded.add((Frame) frame);
        }

        assertThat(violations).hasSizeLessThanOrEqualTo(1);
        Error.Code seen = violations.isEmpty() ? null : violations.get(0).code();
        boolean jsonRefused = json && seen == Error.Code.MALFORMED_FRAME && decoded.size() < expected.size();
        if (!jsonRefused) {
            assertThat(seen).isEqualTo(refusal);
            assertThat(decoded).hasSameSizeAs(expected);
        }
        if (!json) {
            assertThat(decoded).isEqualTo(expected);
        }
        assertThat(sent).allSatisfy(frame -> assertThat(frame.refCnt()).as("a message's buffer").isZero());
        for (Frame frame : decoded) {
            assertThat(roundTrip(alloc, json, frame)).as("the frame after the server encoded it").isEqualTo(frame);
        }
        assertThat(channel.finishAndReleaseAll()).isFalse();
        assertThat(alloc.metric().usedHeapMemory() + alloc.metric().usedDirectMemory())
            .as("bytes of buffers never released").isZero();
    }

    private static EmbeddedChannel codec(UnpooledByteBufAllocator alloc, boolean json, List<ProtocolViolation> violations) {
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.config().setAllocator(alloc);
        channel.pipeline().addLast(new WsFrameCodec(json, MAX), new ChannelInboundHandlerAdapter() {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                if (event instanceof ProtocolViolation violation) {
                    violations.add(violation);
                } else {
                    ctx.fireUserEventTriggered(event);
                }
            }
        });
        return channel;
    }

    /** Encodes {@code frame} as the server would send it, and decodes that with a fresh codec. */
    private static Frame roundTrip(UnpooledByteBufAllocator alloc, boolean json, Frame frame) {
        List<ProtocolViolation> violations = new ArrayList<>();
        EmbeddedChannel server = codec(alloc, json, violations);
        assertThat(server.writeOutbound(frame)).isTrue();
        WebSocketFrame encoded = server.readOutbound();
        if (encoded.content().readableBytes() > MAX) {
            // The server's encoding of what it read may be longer than what it read (protobuf's
            // JSON printer spaces and spells out what the input left compact): a peer with the
            // same limit refuses it, as it must; there is nothing to round-trip.
            encoded.release();
            assertThat(server.finishAndReleaseAll()).isFalse();
            return frame;
        }
        EmbeddedChannel client = codec(alloc, json, violations);
        client.writeInbound(encoded);
        Frame back = client.readInbound();
        assertThat(violations).as("the server's own encoding refused").isEmpty();
        server.finishAndReleaseAll();
        client.finishAndReleaseAll();
        return back;
    }

    private record Message(boolean text, byte[] content) {
    }

    static List<Message> messages(byte[] input) {
        List<Message> messages = new ArrayList<>();
        int at = 1;
        while (at < input.length) {
            boolean text = (input[at] & 1) == 1;
            int length = at + 2 < input.length ? ((input[at + 1] & 0xFF) << 8) | (input[at + 2] & 0xFF) : 0;
            int start = Math.min(at + 3, input.length);
            int end = Math.min(start + length, input.length);
            byte[] content = new byte[end - start];
            System.arraycopy(input, start, content, 0, content.length);
            messages.add(new Message(text, content));
            at = end;
            if (start == input.length) {
                break;
            }
        }
        return messages;
    }
}
