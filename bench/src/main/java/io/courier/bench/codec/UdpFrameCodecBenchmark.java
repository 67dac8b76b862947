package io.courier.bench.codec;

import com.google.protobuf.InvalidProtocolBufferException;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Frame;
import io.courier.transport.udp.internal.Datagrams;
import io.courier.transport.udp.internal.ReliableStream;
import io.courier.transport.udp.internal.Wire;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * One frame through the UDP transport's framing: the protobuf bytes cut into DATA fragments by its
 * real {@link ReliableStream} (sequence number, fragment index and count), each wrapped by
 * {@link Datagrams} in the datagram header (type, connection id); and back. A 100-byte payload is
 * one datagram; 4,096 bytes are four.
 *
 * <p>Client and server do the same per frame — their {@code ReliableStream.Sink}s wrap bodies with
 * {@code Datagrams.withBody} and parse finished messages with {@code Frame.parseFrom}, their
 * receive handlers read the type and connection id and copy the rest out — so one endpoint here
 * plays both, with a sink that does those same steps. The datagrams are handed to the sink rather
 * than written to a channel: the {@link EmbeddedChannel} is there only as the allocator.
 *
 * <p>What one operation includes, since a reliable stream keeps state per datagram:
 * <ul>
 *   <li>encode: {@code toByteArray}, fragmenting, the DATA datagram(s), and retiring them with the
 *       cumulative ACK the peer answers with — without it the send window fills and nothing more
 *       is sent, and the ACK is part of what each frame costs the sender;</li>
 *   <li>decode: each DATA datagram's header, its copy out of the buffer, in-order delivery and
 *       reassembly, the ACK datagram the receiver answers with (at most one per read burst; here each
 *       datagram is its own burst, the worst case), and parsing the frame. The
 *       datagrams are retained duplicates of ones encoded once, their sequence number advanced.</li>
 * </ul>
 * Average time per frame in nanoseconds, as the other codec benchmarks.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class UdpFrameCodecBenchmark {

    private static final long CONNECTION_ID = 0x1F2E3D4C5B6A7988L;
    // The server's defaults: a 64-datagram window, RTO between 50 ms and 5 s (never reached here).
    private static final int WINDOW = 64;
    private static final long MIN_RTO_NANOS = 50_000_000L;
    private static final long MAX_RTO_NANOS = 5_000_000_000L;

    @Param({"100", "4096"})
    public int payloadBytes;

    private final InetSocketAddress peer = new InetSocketAddress(InetAddress.getLoopbackAddress(), 7447);
    private final ByteBuffer ack = ByteBuffer.allocate(12);
    private EmbeddedChannel channel;
    private Endpoint sender;
    private Endpoint receiver;
    private Frame send;
    private Frame deliver;
    private List<ByteBuf> sendDatagrams;
    private List<ByteBuf> deliverDatagrams;

    @Setup
    public void setUp() {
        channel = new EmbeddedChannel();
        sender = new Endpoint();
        receiver = new Endpoint();
        send = SampleFrames.send(payloadBytes);
        deliver = SampleFrames.deliver(payloadBytes);
        sendDatagrams = datagrams(send);
        deliverDatagrams = datagrams(deliver);
        SampleFrames.checkRoundTrip("UDP Send", send, decode(sendDatagrams, null));
        SampleFrames.checkRoundTrip("UDP Deliver", deliver, decode(deliverDatagrams, null));
    }

    @TearDown
    public void tearDown() {
        sendDatagrams.forEach(ByteBuf::release);
        deliverDatagrams.forEach(ByteBuf::release);
        channel.finishAndReleaseAll();
    }

    /** Client side: a Send to the wire, and its ACK back. */
    @Benchmark
    public void encodeSend(Blackhole blackhole) {
        encode(send, blackhole);
    }

    /** Server side: a Send from the wire, acknowledged. */
    @Benchmark
    public Frame decodeSend(Blackhole blackhole) {
        return decode(sendDatagrams, blackhole);
    }

    /** Server side: a Deliver to the wire, and its ACK back. */
    @Benchmark
    public void encodeDeliver(Blackhole blackhole) {
        encode(deliver, blackhole);
    }

    /** Client side: a Deliver from the wire, acknowledged. */
    @Benchmark
    public Frame decodeDeliver(Blackhole blackhole) {
        return decode(deliverDatagrams, blackhole);
    }

    private void encode(Frame frame, Blackhole blackhole) {
        long now = System.nanoTime();
        sender.stream.send(frame.toByteArray(), now);
        sender.drain(blackhole);
        ack.clear();
        ack.putInt(sender.dataSent).putLong(0L).flip();
        sender.stream.onAck(ack, now);
    }

    private Frame decode(List<ByteBuf> datagrams, Blackhole blackhole) {
        for (int i = 0; i < datagrams.size(); i++) {
            ByteBuf datagram = datagrams.get(i).retainedDuplicate();
            try {
                // The receiver expects the next sequence number; the DATA body starts with it.
                datagram.setInt(Wire.HEADER_BYTES, ++receiver.dataReceived);
                byte type = datagram.readByte();
                long id = datagram.readLong();
                if (type != Wire.DATA || id != CONNECTION_ID) {
                    throw new IllegalStateException("Not a DATA datagram of connection " + CONNECTION_ID);
                }
                byte[] body = new byte[datagram.readableBytes()];
                datagram.readBytes(body);
                receiver.stream.onData(ByteBuffer.wrap(body));
                // The worst case: each datagram read alone, so its read burst ends with its own ACK.
                receiver.stream.flushAck();
            } finally {
                datagram.release();
            }
            receiver.drain(blackhole);
        }
        Frame frame = receiver.received;
        receiver.received = null;
        return frame;
    }

    /** The DATA datagrams of {@code frame}, as unpooled copies the trial keeps. */
    private List<ByteBuf> datagrams(Frame frame) {
        Endpoint encoder = new Endpoint();
        encoder.stream.send(frame.toByteArray(), System.nanoTime());
        List<ByteBuf> copies = new ArrayList<>(encoder.out.size());
        for (DatagramPacket packet : encoder.out) {
            copies.add(Unpooled.directBuffer(packet.content().readableBytes()).writeBytes(packet.content()));
            packet.release();
        }
        return copies;
    }

    /** One end of a connection: its stream, and a sink that does what the transport's sinks do. */
    private final class Endpoint implements ReliableStream.Sink {
        final ReliableStream stream = new ReliableStream(this, WINDOW, TransportSettings.DEFAULT_MAX_FRAME_BYTES,
            MIN_RTO_NANOS, MAX_RTO_NANOS);
        final List<DatagramPacket> out = new ArrayList<>(4);
        int dataSent;
        int dataReceived;
        Frame received;

        @Override
        public void sendData(ByteBuffer body) {
            out.add(Datagrams.withBody(channel, Wire.DATA, CONNECTION_ID, body, peer));
            dataSent++;
        }

        @Override
        public void sendAck(ByteBuffer body) {
            out.add(Datagrams.withBody(channel, Wire.ACK, CONNECTION_ID, body, peer));
        }

        @Override
        public void message(byte[] bytes) {
            try {
                received = Frame.parseFrom(bytes);
            } catch (InvalidProtocolBufferException e) {
                throw new IllegalStateException("A reassembled message is not a Frame", e);
            }
        }

        @Override
        public void violation(boolean tooLarge, String detail) {
            throw new IllegalStateException("The stream refused a datagram: " + detail);
        }

        /** What the socket would take: consumed, then released as the write would. */
        void drain(Blackhole blackhole) {
            for (int i = 0; i < out.size(); i++) {
                DatagramPacket packet = out.get(i);
                if (blackhole != null) {
                    blackhole.consume(packet);
                }
                packet.release();
            }
            out.clear();
        }
    }
}
