package io.courier.bench.codec;

import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Frame;
import io.courier.transport.ws.internal.WsFrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.websocketx.Utf8FrameValidator;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
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
 * One frame through the WebSocket transport's framing: Courier's {@link WsFrameCodec} (binary
 * protobuf on {@code courier.v1.proto}, JSON text on {@code courier.v1.json}) over Netty's RFC 6455
 * frame codec, as the handshake leaves the pipelines once permessage-deflate is off (the default).
 *
 * <pre>
 *  server: WebSocket08FrameEncoder(unmasked) | WebSocket08FrameDecoder(expects masked, max + 1)
 *          | Utf8FrameValidator | WebSocketFrameAggregator(max) | WsFrameCodec
 *  client: WebSocket08FrameEncoder(masked)   | WebSocket08FrameDecoder(expects unmasked)
 *          | Utf8FrameValidator | WebSocketFrameAggregator | WsFrameCodec
 * </pre>
 *
 * Left out: Netty's {@code WebSocketServerProtocolHandler}/{@code WebSocketClientProtocolHandler},
 * which pass data frames on untouched (they answer pings and closes), and the server's bounded
 * aggregator subclass, which only changes what happens to an oversized message. A single final
 * frame passes the aggregator as is. The handlers run in a {@link DirectPipeline}, so Netty's
 * dispatch is timed and {@code EmbeddedChannel}'s bookkeeping is not.
 *
 * <p>Client to server frames are masked (RFC 6455 §5.3): encoding a Send pays for the mask and
 * decoding it for the unmasking copy; a Deliver is neither. Courier's own client speaks only
 * {@code courier.v1.proto}; the {@code json} client numbers stand for a JSON peer using the same
 * codec. Average time per frame in nanoseconds, as the other codec benchmarks.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class WsFrameCodecBenchmark {

    @Param({"100", "4096"})
    public int payloadBytes;

    /** The sub-protocol: {@code proto} for courier.v1.proto, {@code json} for courier.v1.json. */
    @Param({"proto", "json"})
    public String format;

    private DirectPipeline server;
    private DirectPipeline client;
    private Frame send;
    private Frame deliver;
    private ByteBuf sendBytes;
    private ByteBuf deliverBytes;

    @Setup
    public void setUp() {
        boolean json = switch (format) {
            case "proto" -> false;
            case "json" -> true;
            default -> throw new IllegalArgumentException("format must be proto or json, was " + format);
        };
        int max = TransportSettings.DEFAULT_MAX_FRAME_BYTES;
        // As WsServerInitializer configures the handshake: one byte over the limit reaches our codec.
        server = new DirectPipeline(
            new WebSocket08FrameEncoder(false),
            new WebSocket08FrameDecoder(WebSocketDecoderConfig.newBuilder()
                .expectMaskedFrames(true).maxFramePayloadLength(max + 1).allowExtensions(false)
                .withUTF8Validator(true).build()),
            new Utf8FrameValidator(true),
            new WebSocketFrameAggregator(max),
            new WsFrameCodec(json, max));
        // As WsClient configures it: no limit, so conformance tests can send oversized messages.
        client = new DirectPipeline(
            new WebSocket08FrameEncoder(true),
            new WebSocket08FrameDecoder(WebSocketDecoderConfig.newBuilder()
                .expectMaskedFrames(false).maxFramePayloadLength(Integer.MAX_VALUE).allowExtensions(false)
                .build()),
            new Utf8FrameValidator(true),
            new WebSocketFrameAggregator(Integer.MAX_VALUE),
            new WsFrameCodec(json, Integer.MAX_VALUE));
        send = SampleFrames.send(payloadBytes);
        deliver = SampleFrames.deliver(payloadBytes);
        sendBytes = client.encodeToBuffer(send);
        deliverBytes = server.encodeToBuffer(deliver);
        SampleFrames.checkRoundTrip("WebSocket " + format + " Send", send, server.decodeOne(sendBytes.retainedDuplicate()));
        SampleFrames.checkRoundTrip("WebSocket " + format + " Deliver", deliver,
            client.decodeOne(deliverBytes.retainedDuplicate()));
    }

    @TearDown
    public void tearDown() {
        sendBytes.release();
        deliverBytes.release();
        server.close();
        client.close();
    }

    /** Client side: a Send to the wire, masked. */
    @Benchmark
    public void encodeSend(Blackhole blackhole) {
        DirectPipeline.consumeAndRelease(client.write(send), blackhole);
    }

    /** Server side: a masked Send from the wire. */
    @Benchmark
    public Object decodeSend() {
        return server.read(sendBytes.retainedDuplicate()).get(0);
    }

    /** Server side: a Deliver to the wire, unmasked. */
    @Benchmark
    public void encodeDeliver(Blackhole blackhole) {
        DirectPipeline.consumeAndRelease(server.write(deliver), blackhole);
    }

    /** Client side: an unmasked Deliver from the wire. */
    @Benchmark
    public Object decodeDeliver() {
        return client.read(deliverBytes.retainedDuplicate()).get(0);
    }
}
