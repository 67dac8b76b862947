package io.courier.transport.udp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.transport.Connection;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
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
 * A server connection within read bursts of the shared channel, on an {@link EmbeddedChannel}:
 * one ACK per connection per burst, and one flush at the burst's end for what handlers wrote.
 */
class UdpServerConnectionTest {

    private static final InetSocketAddress ALICE = new InetSocketAddress("127.0.0.1", 40_001);
    private static final InetSocketAddress BOB = new InetSocketAddress("127.0.0.1", 40_002);

    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final ReadBurst burst = new ReadBurst();
    private final List<Frame> frames = new ArrayList<>();

    /** Echoes every frame back, flushing each as a router answering at once would. */
    private final ConnectionHandler echo = new ConnectionHandler() {
        @Override
        public void onOpen(Connection connection) {
        }

        @Override
        public void onFrame(Connection connection, Frame frame) {
            frames.add(frame);
            connection.write(frame);
            connection.flush();
        }

        @Override
        public void onClose(Connection connection) {
        }
    };

    @AfterEach
    void releaseEverything() {
        channel.finishAndReleaseAll();
    }

    private UdpServerConnection connection(long id, InetSocketAddress remote) {
        return new UdpServerConnection(id, remote, channel, echo, 64, 64 * 1024, 50_000_000L, 30_000_000_000L,
            burst, () -> { });
    }

    /** A one-fragment DATA body with a Hello frame, as the connection sees it after the header. */
    private static ByteBuf data(int seq) {
        byte[] frame = Frame.newBuilder().setHello(Hello.newBuilder().setUser("u" + seq)).build().toByteArray();
        return Unpooled.buffer().writeInt(seq).writeShort(0).writeShort(1).writeBytes(frame);
    }

    private void receive(UdpServerConnection connection, int seq) {
        ByteBuf body = data(seq);
        try {
            connection.onDatagram(Wire.DATA, body, System.nanoTime());
        } finally {
            body.release();
        }
    }

    private record Sent(byte type, long connectionId, InetSocketAddress to, int cumulative) {
    }

    /** What was flushed to the socket, released. For an ACK, its cumulative sequence; else -1. */
    private List<Sent> flushed() {
        List<Sent> sent = new ArrayList<>();
        DatagramPacket packet;
        while ((packet = channel.readOutbound()) != null) {
            ByteBuf content = packet.content();
            byte type = content.readByte();
            long id = content.readLong();
            sent.add(new Sent(type, id, packet.recipient(), type == Wire.ACK ? content.readInt() : -1));
            packet.release();
        }
        return sent;
    }

    @Test
    void shouldAcknowledgeTheDataOfOneBurstOnceAndFlushAtItsEnd() {
        UdpServerConnection alice = connection(1, ALICE);
        burst.begin();
        for (int seq = 1; seq <= 5; seq++) {
            receive(alice, seq);
        }
        assertThat(frames).hasSize(5);
        assertThat(flushed()).as("the echoes' flushes wait for the burst's end").isEmpty();

        burst.end(channel);
        List<Sent> sent = flushed();
        assertThat(sent).filteredOn(s -> s.type() == Wire.DATA).hasSize(5);
        assertThat(sent).filteredOn(s -> s.type() == Wire.ACK).singleElement()
            .isEqualTo(new Sent(Wire.ACK, 1, ALICE, 5));
    }

    @Test
    void shouldAcknowledgeEachConnectionHeardFromInTheBurst() {
        UdpServerConnection alice = connection(1, ALICE);
        UdpServerConnection bob = connection(2, BOB);
        burst.begin();
        receive(alice, 1);
        receive(bob, 1);
        receive(alice, 2);
        receive(bob, 2);
        receive(bob, 3);
        burst.end(channel);
        assertThat(flushed()).filteredOn(s -> s.type() == Wire.ACK)
            .containsExactly(new Sent(Wire.ACK, 1, ALICE, 2), new Sent(Wire.ACK, 2, BOB, 3));

        // The next burst starts afresh: Bob alone owes, once.
        burst.begin();
        receive(bob, 4);
        burst.end(channel);
        assertThat(flushed()).filteredOn(s -> s.type() == Wire.ACK).containsExactly(new Sent(Wire.ACK, 2, BOB, 4));
    }

    @Test
    void shouldAcknowledgeALongBurstEverySixteenDatagrams() {
        UdpServerConnection alice = connection(1, ALICE);
        burst.begin();
        for (int seq = 1; seq <= 40; seq++) {
            receive(alice, seq);
        }
        burst.end(channel);
        assertThat(flushed()).filteredOn(s -> s.type() == Wire.ACK).extracting(Sent::cumulative)
            .containsExactly(16, 32, 40);
    }

    @Test
    void shouldFlushAtOnceOutsideABurst() {
        UdpServerConnection alice = connection(1, ALICE);
        alice.write(Frame.newBuilder().setHello(Hello.newBuilder().setUser("alice")).build());
        alice.flush();
        assertThat(flushed()).extracting(Sent::type).containsExactly(Wire.DATA);
    }
}
