package io.courier.bench.codec;

import io.courier.transport.TransportSettings;
import io.courier.transport.longpoll.internal.Bodies;
import io.courier.transport.proto.Frame;
import java.util.List;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * One frame through the long-polling transport's framing: an HTTP body of one frame, encoded and
 * decoded by its real {@link Bodies} — varint32-length-prefixed protobuf
 * ({@code application/x-courier-frames}), or a JSON array of frames in protobuf's JSON mapping
 * ({@code application/json}). The server encodes a poll response with it and decodes a POSTed
 * body; Courier's Java client decodes poll responses with it too, and writes its POST bodies with
 * {@code Bodies.writeRaw} — the same bytes as {@code encode} of a one-frame list.
 *
 * <p>A body of one frame, so the numbers compare with the other transports per frame; a poll
 * answer batches up to its limit, which spreads the per-body cost. Not timed: HTTP itself and
 * Vert.x's copies between its buffers and the byte arrays {@code Bodies} works on. Average time
 * per frame in nanoseconds, as the other codec benchmarks.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class LongPollFrameCodecBenchmark {

    @Param({"100", "4096"})
    public int payloadBytes;

    /** The body format: {@code proto} for application/x-courier-frames, {@code json} for application/json. */
    @Param({"proto", "json"})
    public String format;

    private boolean json;
    private List<Frame> send;
    private List<Frame> deliver;
    private byte[] sendBody;
    private byte[] deliverBody;

    @Setup
    public void setUp() throws Bodies.BadBody {
        json = switch (format) {
            case "proto" -> false;
            case "json" -> true;
            default -> throw new IllegalArgumentException("format must be proto or json, was " + format);
        };
        send = List.of(SampleFrames.send(payloadBytes));
        deliver = List.of(SampleFrames.deliver(payloadBytes));
        sendBody = Bodies.encode(send, json);
        deliverBody = Bodies.encode(deliver, json);
        SampleFrames.checkRoundTrip("Long-poll " + format + " Send", send.get(0), decodeOne(sendBody));
        SampleFrames.checkRoundTrip("Long-poll " + format + " Deliver", deliver.get(0), decodeOne(deliverBody));
    }

    /** Client side: a POST body of one Send. */
    @Benchmark
    public byte[] encodeSend() {
        return Bodies.encode(send, json);
    }

    /** Server side: a POSTed body of one Send. */
    @Benchmark
    public List<Frame> decodeSend() throws Bodies.BadBody {
        return Bodies.decode(sendBody, json, TransportSettings.DEFAULT_MAX_FRAME_BYTES);
    }

    /** Server side: a poll response of one Deliver. */
    @Benchmark
    public byte[] encodeDeliver() {
        return Bodies.encode(deliver, json);
    }

    /** Client side: a poll response of one Deliver. */
    @Benchmark
    public List<Frame> decodeDeliver() throws Bodies.BadBody {
        return Bodies.decode(deliverBody, json, Integer.MAX_VALUE);
    }

    private Frame decodeOne(byte[] body) throws Bodies.BadBody {
        List<Frame> frames = Bodies.decode(body, json, TransportSettings.DEFAULT_MAX_FRAME_BYTES);
        return frames.size() == 1 ? frames.get(0) : null;
    }
}
