package io.courier.transport.tcp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.courier.transport.netty.ProtocolViolation;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Heartbeat;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Send;
import io.courier.transport.tck.EchoRouter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The TCP framing on the way in, in an {@link EmbeddedChannel}: the decoder alone, and the whole
 * server pipeline with the kit's {@link EchoRouter} behind it. Every test checks that each buffer
 * it handed in was released.
 */
class FrameDecoderTest {

    private static final int MAX = 1024;
    /**
     * Unpooled, so a released buffer stays released: a pooled one is recycled at once and would
     * show the reference count of whoever got it next.
     */
    private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;

    private final List<ProtocolViolation> violations = new ArrayList<>();
    private final EchoRouter router = new EchoRouter();

    /** The decoder alone; the violations it fires are collected. */
    private EmbeddedChannel decoder() {
        return new EmbeddedChannel(new FrameDecoder(MAX), new ChannelInboundHandlerAdapter() {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                if (event instanceof ProtocolViolation violation) {
                    violations.add(violation);
                } else {
                    ctx.fireUserEventTriggered(event);
                }
            }
        });
    }

    /** The real server pipeline, talking to an {@link EchoRouter}. */
    private EmbeddedChannel server() {
        return new EmbeddedChannel(new TcpServerInitializer(MAX, router, new AtomicInteger(),
            new DefaultChannelGroup(GlobalEventExecutor.INSTANCE), io.courier.transport.ConnectionGate.unlimited()));
    }

    @Test
    void shouldDecodeEveryFrameOfOneRead() {
        EmbeddedChannel channel = decoder();
        Frame heartbeat = Frame.newBuilder().setHeartbeat(Heartbeat.newBuilder().setClientTimeMs(1)).build();
        Frame send = send(300); // a two-byte length prefix
        ByteBuf first = FrameEncoder.encode(ALLOC, heartbeat);
        ByteBuf second = FrameEncoder.encode(ALLOC, send);
        ByteBuf both = Unpooled.wrappedBuffer(first, second);

        channel.writeInbound(both);

        assertThat(channel.<Frame>readInbound()).isEqualTo(heartbeat);
        assertThat(channel.<Frame>readInbound()).isEqualTo(send);
        assertThat(List.of(both, first, second)).allSatisfy(buf -> assertThat(buf.refCnt()).isZero());
        assertThat(violations).isEmpty();
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldAnswerHelloWithWelcomeThroughTheServerPipeline() throws IOException {
        EmbeddedChannel channel = server();
        ByteBuf hello = FrameEncoder.encode(ALLOC,
            Frame.newBuilder().setHello(Hello.newBuilder().setUser("alice").setDevice("1")).build());

        channel.writeInbound(hello);

        assertThat(hello.refCnt()).isZero();
        Frame welcome = readFrame(channel);
        assertThat(welcome.getWelcome().getUser()).isEqualTo("alice");
        assertThat(router.opened()).hasSize(1);
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldReassembleAFrameSplitAcrossManyReads() {
        EmbeddedChannel channel = decoder();
        Frame frame = send(500);
        ByteBuf encoded = FrameEncoder.encode(ALLOC, frame);
        List<ByteBuf> reads = new ArrayList<>();
        while (encoded.isReadable()) {
            assertThat(channel.<Frame>readInbound()).as("a frame before its last byte").isNull();
            ByteBuf oneByte = ALLOC.buffer(1).writeByte(encoded.readByte()); // even the prefix arrives split
            reads.add(oneByte);
            channel.writeInbound(oneByte);
        }
        encoded.release();

        assertThat(channel.<Frame>readInbound()).isEqualTo(frame);
        assertThat(reads).hasSizeGreaterThan(500).allSatisfy(read -> assertThat(read.refCnt()).isZero());
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldAcceptAFrameOfExactlyTheMaximum() {
        EmbeddedChannel channel = decoder();
        Frame largest = sendOfEncodedSize(MAX);
        ByteBuf encoded = FrameEncoder.encode(ALLOC, largest);

        channel.writeInbound(encoded);

        assertThat(channel.<Frame>readInbound()).isEqualTo(largest);
        assertThat(violations).isEmpty();
        assertThat(encoded.refCnt()).isZero();
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldRefuseALengthAboveTheMaximumBeforeTheBodyArrivesAndDiscardWhatFollows() {
        EmbeddedChannel channel = decoder();
        ByteBuf prefixOnly = varint(MAX + 1);

        channel.writeInbound(prefixOnly);

        assertThat(violations).singleElement()
            .satisfies(violation -> assertThat(violation.code()).isEqualTo(Error.Code.FRAME_TOO_LARGE));
        assertThat(violations.get(0).detail()).contains(Integer.toString(MAX + 1), Integer.toString(MAX));
        // Terminal: even a well-formed frame after the violation is dropped, and released.
        ByteBuf valid = FrameEncoder.encode(ALLOC, send(10));
        channel.writeInbound(valid);
        assertThat(channel.<Frame>readInbound()).isNull();
        assertThat(violations).hasSize(1);
        assertThat(prefixOnly.refCnt()).isZero();
        assertThat(valid.refCnt()).isZero();
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldAnswerALengthAboveTheMaximumWithFrameTooLargeAndClose() throws IOException {
        EmbeddedChannel channel = server();
        ByteBuf prefixOnly = varint(MAX + 1);

        channel.writeInbound(prefixOnly);
        channel.runPendingTasks();

        Error error = readFrame(channel).getError();
        assertThat(error.getCode()).isEqualTo(Error.Code.FRAME_TOO_LARGE);
        assertThat(error.getFatal()).isTrue();
        assertThat(channel.isOpen()).isFalse();
        assertThat(router.transportErrors()).containsExactly(Error.Code.FRAME_TOO_LARGE);
        assertThat(router.closed()).hasSize(1);
        assertThat(router.violations()).isEmpty();
        assertThat(prefixOnly.refCnt()).isZero();
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldAnswerBytesThatAreNotAFrameWithMalformedFrameAndClose() throws IOException {
        EmbeddedChannel channel = server();
        byte[] garbage = new byte[64];
        Arrays.fill(garbage, (byte) 0xFF); // wire type 7 in the first tag: never valid protobuf
        ByteBuf framed = FrameEncoder.encodeUnchecked(ALLOC, garbage);

        channel.writeInbound(framed);
        channel.runPendingTasks();

        Error error = readFrame(channel).getError();
        assertThat(error.getCode()).isEqualTo(Error.Code.MALFORMED_FRAME);
        assertThat(error.getFatal()).isTrue();
        assertThat(channel.isOpen()).isFalse();
        assertThat(router.transportErrors()).containsExactly(Error.Code.MALFORMED_FRAME);
        assertThat(router.closed()).hasSize(1);
        assertThat(framed.refCnt()).isZero();
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldRefuseALengthPrefixLongerThanFiveBytes() {
        EmbeddedChannel channel = decoder();
        ByteBuf sixBytes = Unpooled.wrappedBuffer(new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80,
            (byte) 0x80, 0x01});

        channel.writeInbound(sixBytes);

        assertThat(violations).singleElement()
            .satisfies(violation -> assertThat(violation.code()).isEqualTo(Error.Code.MALFORMED_FRAME));
        assertThat(sixBytes.refCnt()).isZero();
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldPassAFrameWithoutBodyToTheRouterToJudge() {
        EmbeddedChannel channel = decoder();
        ByteBuf empty = varint(0);

        channel.writeInbound(empty);

        assertThat(channel.<Frame>readInbound()).isEqualTo(Frame.getDefaultInstance());
        assertThat(violations).isEmpty();
        assertThat(empty.refCnt()).isZero();
        assertThat(channel.finish()).isFalse();
    }

    // ---------------------------------------------------------------- helpers

    static Frame send(int payloadBytes) {
        return Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId("c").setRecipient("bob")
            .setPayload(ByteString.copyFrom(new byte[payloadBytes]))).build();
    }

    /** A send whose encoded frame is {@code size} bytes; fine for sizes away from varint steps. */
    static Frame sendOfEncodedSize(int size) {
        Frame frame = send(size);
        frame = send(size - (frame.getSerializedSize() - size));
        assertThat(frame.getSerializedSize()).isEqualTo(size);
        return frame;
    }

    private static ByteBuf varint(int value) {
        ByteBuf buf = ALLOC.buffer();
        while ((value & ~0x7F) != 0) {
            buf.writeByte((value & 0x7F) | 0x80);
            value >>>= 7;
        }
        return buf.writeByte(value);
    }

    /**
     * The one frame the channel wrote, read with protobuf's own delimited parser: an independent
     * check of the wire format. Releases the buffer.
     */
    private static Frame readFrame(EmbeddedChannel channel) throws IOException {
        ByteBuf written = channel.readOutbound();
        assertThat(written).as("a frame written to the peer").isNotNull();
        try {
            Frame frame = Frame.parseDelimitedFrom(new ByteBufInputStream(written));
            assertThat(written.isReadable()).as("bytes after the frame").isFalse();
            return frame;
        } finally {
            written.release();
        }
    }
}
