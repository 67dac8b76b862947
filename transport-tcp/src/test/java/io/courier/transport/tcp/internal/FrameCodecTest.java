package io.courier.transport.tcp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Heartbeat;
import io.courier.transport.proto.Send;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.EncoderException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Assertions;

/** The TCP framing, in an EmbeddedChannel: round trips, violations, split reads, no leaks. */
class FrameCodecTest {

    private static final int MAX = 1024;

    private final List<Object> events = new ArrayList<>();

    private EmbeddedChannel channel() {
        return new EmbeddedChannel(new FrameDecoder(MAX), new FrameEncoder(MAX), new ChannelInboundHandlerAdapter() {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                events.add(evt);
            }
        });
    }

    private static Frame send(int payloadBytes) {
        return Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId("c").setRecipient("bob")
            .setPayload(ByteString.copyFrom(new byte[payloadBytes]))).build();
    }

    @Test
    void shouldRoundTripFrames() {
        EmbeddedChannel channel = channel();
        Frame frame = send(100);
        assertThat(channel.writeOutbound(frame)).isTrue();
        ByteBuf encoded = channel.readOutbound();
        assertThat(encoded.readableBytes()).isEqualTo(
            com.google.protobuf.CodedOutputStream.computeUInt32SizeNoTag(frame.getSerializedSize()) + frame.getSerializedSize());
        assertThat(channel.writeInbound(encoded)).isTrue();
        assertThat((Frame) channel.readInbound()).isEqualTo(frame);
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldReassembleAFrameSplitAcrossManyReads() {
        EmbeddedChannel channel = channel();
        Frame frame = send(500);
        channel.writeOutbound(frame);
        ByteBuf encoded = channel.readOutbound();
        while (encoded.isReadable()) {
            channel.writeInbound(encoded.readRetainedSlice(Math.min(7, encoded.readableBytes())));
        }
        encoded.release();
        assertThat((Frame) channel.readInbound()).isEqualTo(frame);
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldDecodeSeveralFramesFromOneRead() {
        EmbeddedChannel channel = channel();
        Frame a = Frame.newBuilder().setHeartbeat(Heartbeat.newBuilder().setClientTimeMs(1)).build();
        Frame b = send(10);
        channel.writeOutbound(a, b);
        ByteBuf both = Unpooled.wrappedBuffer(channel.<ByteBuf>readOutbound(), channel.readOutbound());
        channel.writeInbound(both);
        assertThat((Frame) channel.readInbound()).isEqualTo(a);
        assertThat((Frame) channel.readInbound()).isEqualTo(b);
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldRefuseALengthAboveTheMaximumBeforeItsBodyArrives() {
        EmbeddedChannel channel = channel();
        ByteBuf prefix = Unpooled.buffer();
        prefix.writeByte(0x81).writeByte(0x08); // varint 1025
        channel.writeInbound(prefix);
        assertThat(events).singleElement().isInstanceOfSatisfying(io.courier.transport.netty.ProtocolViolation.class,
            v -> assertThat(v.code()).isEqualTo(Error.Code.FRAME_TOO_LARGE));
        // Terminal: whatever follows is dropped, even a valid frame.
        channel.writeInbound(FrameEncoder.unchecked(channel.alloc(), send(1).toByteArray()));
        assertThat((Object) channel.readInbound()).isNull();
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldRefuseBytesThatAreNotAFrame() {
        EmbeddedChannel channel = channel();
        channel.writeInbound(FrameEncoder.unchecked(channel.alloc(), new byte[] {(byte) 0xFF, (byte) 0xFF, 1, 2}));
        assertThat(events).singleElement().isInstanceOfSatisfying(io.courier.transport.netty.ProtocolViolation.class,
            v -> assertThat(v.code()).isEqualTo(Error.Code.MALFORMED_FRAME));
        assertThat((Object) channel.readInbound()).isNull();
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldRefuseAVarintLongerThanFiveBytes() {
        EmbeddedChannel channel = channel();
        channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80,
            (byte) 0x80, 1}));
        assertThat(events).singleElement().isInstanceOfSatisfying(io.courier.transport.netty.ProtocolViolation.class,
            v -> assertThat(v.code()).isEqualTo(Error.Code.MALFORMED_FRAME));
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldRefuseToEncodeAFrameAboveTheMaximum() {
        EmbeddedChannel channel = channel();
        Assertions.assertThrows(EncoderException.class, () -> channel.writeOutbound(send(MAX)));
        assertThat((Object) channel.readOutbound()).isNull();
        channel.finishAndReleaseAll();
    }
}
