package io.courier.transport.tcp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import io.courier.transport.netty.ProtocolViolation;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.tck.EchoRouter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fuzzes the TCP framing on the way in: any byte stream, cut into reads wherever the fuzzer likes,
 * must decode to exactly the frames a reading of the specification finds in it (docs/PROTOCOL.md,
 * TCP: a varint32 length of at most five bytes, at most {@code max-frame-bytes}, then a
 * {@code Frame}), or to those frames and then one protocol violation with the right code — and no
 * exception, and every buffer released. The same reads then go through the whole server pipeline,
 * whose answer to a violation must be that error, fatal, and a closed channel.
 *
 * <p>The input is a list of reads: a byte {@code n}, then {@code n} bytes; the last read takes what
 * is left. Committed inputs, run by every build: {@code TcpFrameDecoderFuzzTestInputs} beside this
 * class under {@code src/test/resources}.
 */
class TcpFrameDecoderFuzzTest {

    private static final int MAX = 1024;
    private static final int MAX_VARINT32_BYTES = 5;
    private static final ChannelGroup CHANNELS = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

    @FuzzTest(maxDuration = "20s")
    void shouldDecodeTheSpecifiedFramesOrRefuseTheStreamWithoutLeaking(byte[] input) throws IOException {
        List<byte[]> reads = reads(input);
        Expected expected = expected(concat(reads));

        decoderAlone(reads, expected);
        serverPipeline(reads, expected);
    }

    private static void decoderAlone(List<byte[]> reads, Expected expected) {
        UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(false);
        List<ProtocolViolation> violations = new ArrayList<>();
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.config().setAllocator(alloc);
        channel.pipeline().addLast(new FrameDecoder(MAX), new ChannelInboundHandlerAdapter() {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                if (event instanceof ProtocolViolation violation) {
                    violations.add(violation);
                } else {
                    ctx.fireUserEventTriggered(event);
                }
            }
        });
        List<ByteBuf> written = new ArrayList<>();
        for (byte[] read : reads) {
            ByteBuf buf = alloc.heapBuffer(read.length).writeBytes(read);
            written.add(buf);
            channel.writeInbound(buf);
        }
        List<Frame> frames = new ArrayList<>();
        for (Object decoded; (decoded = channel.readInbound()) != null; ) {
            frames.add((Frame) decoded);
        }

        assertThat(frames).isEqualTo(expected.frames);
        if (expected.violation == null) {
            assertThat(violations).isEmpty();
        } else {
            assertThat(violations).singleElement()
                .satisfies(violation -> assertThat(violation.code()).isEqualTo(expected.violation));
        }
        channel.finishAndReleaseAll();
        assertThat(written).allSatisfy(buf -> assertThat(buf.refCnt()).as("a read's buffer").isZero());
        assertNothingLeft(alloc);
    }

    private static void serverPipeline(List<byte[]> reads, Expected expected) throws IOException {
        UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(false);
        EchoRouter router = new EchoRouter();
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.config().setAllocator(alloc);
        channel.pipeline().addLast(new TcpServerInitializer(MAX, router, new AtomicInteger(), CHANNELS));
        for (byte[] read : reads) {
            if (!channel.isOpen()) {
                break; // the router (no hello first) or the decoder closed it: a peer's later bytes go nowhere
            }
            channel.writeInbound(alloc.heapBuffer(read.length).writeBytes(read));
            channel.runPendingTasks();
        }
        List<Frame> answers = new ArrayList<>();
        for (ByteBuf out; (out = channel.readOutbound()) != null; ) {
            try {
                ByteBufInputStream stream = new ByteBufInputStream(out);
                while (out.isReadable()) {
                    answers.add(Frame.parseDelimitedFrom(stream));
                }
            } finally {
                out.release();
            }
        }

        assertThat(router.violations()).as("breaches of the ConnectionHandler contract").isEmpty();
        // The router may have closed the connection before the bytes that violate arrived.
        assertThat(router.transportErrors()).hasSizeLessThanOrEqualTo(1);
        if (!router.transportErrors().isEmpty()) {
            assertThat(router.transportErrors()).containsExactly(expected.violation);
            assertThat(channel.isOpen()).as("the channel after a violation").isFalse();
        }
        int fatal = firstFatal(answers);
        if (fatal >= 0) {
            assertThat(answers).as("answers after a fatal error").hasSize(fatal + 1);
            assertThat(channel.isOpen()).as("the channel after a fatal error").isFalse();
        } else {
            assertThat(router.transportErrors()).as("a violation answered without a fatal error").isEmpty();
        }
        channel.finishAndReleaseAll();
        assertThat(router.opened()).hasSize(1);
        assertThat(router.closed()).hasSize(1);
        assertNothingLeft(alloc);
    }

    private static int firstFatal(List<Frame> answers) {
        for (int i = 0; i < answers.size(); i++) {
            if (answers.get(i).hasError() && answers.get(i).getError().getFatal()) {
                return i;
            }
        }
        return -1;
    }

    private static void assertNothingLeft(UnpooledByteBufAllocator alloc) {
        assertThat(alloc.metric().usedHeapMemory() + alloc.metric().usedDirectMemory())
            .as("bytes of buffers never released").isZero();
    }

    // ---------------------------------------------------------------- the specification, read independently

    /** What the stream holds: its whole frames in order, then the violation that ends it, if any. */
    private record Expected(List<Frame> frames, Error.Code violation) {
    }

    private static Expected expected(byte[] stream) {
        List<Frame> frames = new ArrayList<>();
        int at = 0;
        while (at < stream.length) {
            long length = 0;
            int prefix = 0;
            boolean complete = false;
            while (!complete && prefix < MAX_VARINT32_BYTES && at + prefix < stream.length) {
                int b = stream[at + prefix] & 0xFF;
                length |= (long) (b & 0x7F) << (7 * prefix);
                prefix++;
                complete = b < 0x80;
            }
            if (!complete) {
                return new Expected(frames, prefix == MAX_VARINT32_BYTES ? Error.Code.MALFORMED_FRAME : null);
            }
            if (length > MAX) {
                return new Expected(frames, Error.Code.FRAME_TOO_LARGE);
            }
            int bodyAt = at + prefix;
            if (stream.length - bodyAt < length) {
                return new Expected(frames, null); // the rest has not arrived
            }
            try {
                frames.add(Frame.parser().parseFrom(stream, bodyAt, (int) length));
            } catch (InvalidProtocolBufferException e) {
                return new Expected(frames, Error.Code.MALFORMED_FRAME);
            }
            at = bodyAt + (int) length;
        }
        return new Expected(frames, null);
    }

    // ---------------------------------------------------------------- the input's layout

    static List<byte[]> reads(byte[] input) {
        List<byte[]> reads = new ArrayList<>();
        int at = 0;
        while (at < input.length) {
            int length = Math.min(input[at] & 0xFF, input.length - at - 1);
            reads.add(Arrays.copyOfRange(input, at + 1, at + 1 + length));
            at += 1 + length;
        }
        return reads;
    }

    private static byte[] concat(List<byte[]> reads) {
        byte[] all = new byte[reads.stream().mapToInt(read -> read.length).sum()];
        int at = 0;
        for (byte[] read : reads) {
            System.arraycopy(read, 0, all, at, read.length);
            at += read.length;
        }
        return all;
    }
}
