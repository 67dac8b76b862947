package io.courier.bench.codec;

import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Frame;
import io.courier.transport.tcp.internal.FrameDecoder;
import io.courier.transport.tcp.internal.FrameEncoder;
import io.netty.buffer.ByteBuf;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * One frame through the TCP transport's framing — a varint32 length and the protobuf
 * {@code Frame} — with its real {@link FrameEncoder} and {@link FrameDecoder}, the handlers both
 * the server and the client pipelines use. They run in a {@link DirectPipeline}: Netty's handler
 * dispatch and {@code ByteToMessageDecoder}'s cumulation are timed, {@code EmbeddedChannel}'s own
 * bookkeeping is not.
 *
 * <p>Encode: the frame in, the length-prefixed buffer out (then released, as the socket write
 * would). Decode: that buffer arriving as one read, the parsed {@code Frame} out; the input is a
 * retained duplicate of bytes encoded once, so no copy is timed that a socket read would not do.
 *
 * <p>Average time per frame, in nanoseconds: the number reads directly as the CPU a frame costs on
 * an event loop, and adds up with the other transports' stages; run with {@code -prof gc} for the
 * bytes allocated per frame.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class TcpFrameCodecBenchmark {

    @Param({"100", "4096"})
    public int payloadBytes;

    private DirectPipeline pipeline;
    private Frame send;
    private Frame deliver;
    private ByteBuf sendBytes;
    private ByteBuf deliverBytes;

    @Setup
    public void setUp() {
        int max = TransportSettings.DEFAULT_MAX_FRAME_BYTES;
        // Server and client have the same two handlers, so one pipeline serves both directions.
        pipeline = new DirectPipeline(new FrameDecoder(max), new FrameEncoder(max));
        send = SampleFrames.send(payloadBytes);
        deliver = SampleFrames.deliver(payloadBytes);
        sendBytes = pipeline.encodeToBuffer(send);
        deliverBytes = pipeline.encodeToBuffer(deliver);
        SampleFrames.checkRoundTrip("TCP Send", send, pipeline.decodeOne(sendBytes.retainedDuplicate()));
        SampleFrames.checkRoundTrip("TCP Deliver", deliver, pipeline.decodeOne(deliverBytes.retainedDuplicate()));
    }

    @TearDown
    public void tearDown() {
        sendBytes.release();
        deliverBytes.release();
        pipeline.close();
    }

    /** Client side: a Send to the wire. */
    @Benchmark
    public void encodeSend(Blackhole blackhole) {
        DirectPipeline.consumeAndRelease(pipeline.write(send), blackhole);
    }

    /** Server side: a Send from the wire. */
    @Benchmark
    public Object decodeSend() {
        return pipeline.read(sendBytes.retainedDuplicate()).get(0);
    }

    /** Server side: a Deliver to the wire. */
    @Benchmark
    public void encodeDeliver(Blackhole blackhole) {
        DirectPipeline.consumeAndRelease(pipeline.write(deliver), blackhole);
    }

    /** Client side: a Deliver from the wire. */
    @Benchmark
    public Object decodeDeliver() {
        return pipeline.read(deliverBytes.retainedDuplicate()).get(0);
    }
}
