package io.courier.transport.udp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.courier.transport.Connection;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A client that stops acknowledging is a slow consumer: once what waits for it (DATA in flight and
 * queued behind the window) passes {@code max-unread-output-bytes}, the connection drops what it
 * never sent, sends the SLOW_CONSUMER error right behind what is in flight, and CLOSEs once that
 * is acknowledged. On an {@link EmbeddedChannel}, so the client's acknowledgements are the test's.
 */
class UdpSlowConsumerTest {

    private static final InetSocketAddress ALICE = new InetSocketAddress("127.0.0.1", 40_001);
    private static final int MAX_FRAME = 64 * 1024;
    private static final long LIMIT = UdpServerConnection.HIGH_WATER_BYTES + MAX_FRAME;

    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final ReadBurst burst = new ReadBurst();
    private final List<Error.Code> transportErrors = new ArrayList<>();
    private final List<String> closed = new ArrayList<>();

    private final ConnectionHandler router = new ConnectionHandler() {
        @Override
        public void onOpen(Connection connection) {
        }

        @Override
        public void onFrame(Connection connection, Frame frame) {
        }

        @Override
        public void onTransportError(Connection connection, Error.Code code, String detail) {
            transportErrors.add(code);
        }

        @Override
        public void onClose(Connection connection) {
            closed.add(connection.toString());
        }
    };

    @AfterEach
    void releaseEverything() {
        channel.finishAndReleaseAll();
    }

    @Test
    void shouldCloseAClientThatStopsAcknowledgingWithTheErrorRightBehindWhatIsInFlight() {
        UdpServerConnection alice = new UdpServerConnection(1, ALICE, channel, router, 64, MAX_FRAME, 50_000_000L,
            30_000_000_000L, burst, () -> { }, LIMIT);
        Frame big = Frame.newBuilder().setDeliver(Deliver.newBuilder().setServerMessageId(1)
            .setPayload(ByteString.copyFrom(new byte[60_000]))).build();

        int written = 0;
        while (alice.isOpen() && written < 100) {
            alice.write(big);
            alice.flush();
            written++;
        }
        assertThat(alice.isOpen()).as("closing after %d frames nobody acknowledged", written).isFalse();
        assertThat(transportErrors).containsExactly(Error.Code.SLOW_CONSUMER);
        long frameBytes = big.getSerializedSize();
        assertThat(written).as("the frame that passed the limit was the last written")
            .isBetween((int) (LIMIT / frameBytes), (int) (LIMIT / frameBytes) + 2);

        // The window's 64 DATA went out; nothing queued behind it survives but the rest of the
        // message in flight and the error.
        List<DatagramPacket> sent = drain();
        assertThat(sent).hasSize(64);
        int lastInFlight = seq(sent.get(63));
        sent.forEach(DatagramPacket::release);
        assertThat(alice.unreadOutputBytes()).as("what never went out was dropped")
            .isLessThan(64L * (8 + ReliableStream.FRAGMENT_BYTES) + MAX_FRAME);

        // The client acknowledges everything it got: the rest of that message, then the error, follow.
        List<Frame> after = new ArrayList<>();
        int acked = lastInFlight;
        while (!closed.contains(alice.toString()) && acked < lastInFlight + 200) {
            ack(alice, acked);
            alice.tick(System.nanoTime());
            // As the server does after ticking every connection: one flush for all.
            channel.flush();
            for (DatagramPacket packet : drain()) {
                ByteBuf content = packet.content();
                byte type = content.getByte(0);
                if (type == Wire.DATA) {
                    acked = Math.max(acked, seq(packet));
                    if (content.getShort(13) == 0 && content.getShort(15) == 1) {
                        after.add(parse(content));
                    }
                }
                packet.release();
            }
        }
        assertThat(after).as("one whole frame after what was in flight: the error").singleElement()
            .satisfies(frame -> {
                assertThat(frame.getError().getCode()).isEqualTo(Error.Code.SLOW_CONSUMER);
                assertThat(frame.getError().getFatal()).isTrue();
                assertThat(frame.getError().getText()).contains("stopped reading").contains(Long.toString(LIMIT))
                    .contains("transports.udp.options.max-unread-output-bytes");
            });
        assertThat(closed).as("CLOSE once the error was acknowledged").containsExactly(alice.toString());
    }

    /** Hands the connection a cumulative ACK of {@code upTo}. */
    private void ack(UdpServerConnection connection, int upTo) {
        ByteBuf body = Unpooled.buffer().writeInt(upTo).writeLong(0);
        try {
            connection.onDatagram(Wire.ACK, body, System.nanoTime());
        } finally {
            body.release();
        }
    }

    private List<DatagramPacket> drain() {
        List<DatagramPacket> sent = new ArrayList<>();
        DatagramPacket packet;
        while ((packet = channel.readOutbound()) != null) {
            sent.add(packet);
        }
        return sent;
    }

    private static int seq(DatagramPacket packet) {
        return packet.content().getInt(Wire.HEADER_BYTES);
    }

    private static Frame parse(ByteBuf data) {
        byte[] bytes = new byte[data.readableBytes() - Wire.HEADER_BYTES - 8];
        data.getBytes(Wire.HEADER_BYTES + 8, bytes);
        try {
            return Frame.parseFrom(bytes);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError("not a frame", e);
        }
    }
}
