package io.courier.transport.udp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.courier.transport.TransportSettings;
import io.courier.transport.tck.EchoRouter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.util.Map;

/**
 * Fuzzes the UDP server's handling of datagrams after a valid handshake: the dispatcher, the
 * connection and its reliable stream, with the server's datagram handler in an
 * {@link EmbeddedChannel} and a router ({@link EchoRouter}) behind it. Whatever arrives, no
 * handling may fail unexpectedly ({@link UdpServer#failedDatagrams()}; a datagram too short for
 * its type is dropped, which is expected), the {@code ConnectionHandler} contract holds, nothing
 * the server sends before a connection exists is larger than the datagram it answers (docs/
 * PROTOCOL.md, section 5: no amplification), and every buffer is released.
 *
 * <p>The input is a list of datagrams, each a byte of flags and a big-endian 16-bit length, then
 * that many bytes (the last takes what is left). Flags: the low four bits are the type byte; bit 4
 * sends the bytes as they are after the type, otherwise the connection's id comes first (so the
 * bytes are the datagram's body); bit 5 sends from another port than the connection's. Committed
 * inputs: {@code UdpServerDatagramFuzzTestInputs} beside this class under
 * {@code src/test/resources}.
 */
class UdpServerDatagramFuzzTest {

    private static final int MAX = 4096;
    private static final InetSocketAddress SERVER = new InetSocketAddress("127.0.0.1", 7101);
    private static final InetSocketAddress CLIENT = new InetSocketAddress("127.0.0.1", 40_001);
    private static final InetSocketAddress STRANGER = new InetSocketAddress("127.0.0.1", 40_002);

    @FuzzTest(maxDuration = "20s")
    void shouldHandleAnyDatagramAfterTheHandshakeWithoutFailingOrLeaking(byte[] input) {
        UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(false);
        EchoRouter router = new EchoRouter();
        UdpServer server = new UdpServer(new TransportSettings("127.0.0.1", 0, MAX, Map.of()), router);
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.config().setAllocator(alloc);
        channel.pipeline().addLast(server.dispatcherOn(channel));
        long id = handshake(alloc, channel);

        int at = 0;
        while (at < input.length) {
            int flags = input[at] & 0xFF;
            int length = at + 2 < input.length ? ((input[at + 1] & 0xFF) << 8) | (input[at + 2] & 0xFF) : 0;
            int start = Math.min(at + 3, input.length);
            length = Math.min(length, input.length - start);
            boolean raw = (flags & 0x10) != 0;
            ByteBuf datagram = alloc.heapBuffer().writeByte(flags & 0x0F);
            if (!raw) {
                datagram.writeLong(id);
            }
            datagram.writeBytes(input, start, length);
            int size = datagram.readableBytes();
            channel.writeInbound(new DatagramPacket(datagram, SERVER, (flags & 0x20) != 0 ? STRANGER : CLIENT));
            channel.runPendingTasks();
            assertNoAmplification(channel, size);
            at = start + length;
            if (start == input.length) {
                break;
            }
        }
        // The client says goodbye, so every connection ends as a real one would.
        channel.writeInbound(new DatagramPacket(alloc.heapBuffer().writeByte(Wire.CLOSE).writeLong(id), SERVER, CLIENT));
        channel.runPendingTasks();

        assertThat(server.failedDatagrams()).as("datagrams whose handling failed unexpectedly").isZero();
        assertThat(router.violations()).as("breaches of the ConnectionHandler contract").isEmpty();
        assertThat(router.closed()).hasSameSizeAs(router.opened());
        channel.finishAndReleaseAll();
        assertThat(alloc.metric().usedHeapMemory() + alloc.metric().usedDirectMemory())
            .as("bytes of buffers never released").isZero();
    }

    /** HELLO, COOKIE, HELLO2, ACCEPT from {@link #CLIENT}; returns the connection's id. */
    private static long handshake(UnpooledByteBufAllocator alloc, EmbeddedChannel channel) {
        ByteBuf hello = alloc.heapBuffer(Wire.HANDSHAKE_BYTES).writeByte(Wire.HELLO).writeZero(Wire.HANDSHAKE_BYTES - 1);
        channel.writeInbound(new DatagramPacket(hello, SERVER, CLIENT));
        DatagramPacket cookie = channel.readOutbound();
        assertThat(cookie.content().readByte()).isEqualTo(Wire.COOKIE);
        ByteBuf hello2 = alloc.heapBuffer(Wire.HANDSHAKE_BYTES).writeByte(Wire.HELLO2).writeBytes(cookie.content(), 24);
        hello2.writeZero(Wire.HANDSHAKE_BYTES - hello2.readableBytes());
        cookie.release();
        channel.writeInbound(new DatagramPacket(hello2, SERVER, CLIENT));
        DatagramPacket accept = channel.readOutbound();
        assertThat(accept.content().readByte()).isEqualTo(Wire.ACCEPT);
        long id = accept.content().readLong();
        accept.release();
        return id;
    }

    /**
     * What the server sends that is not for an established connection (cookies, accepts, rejects)
     * is never larger than the datagram that asked for it. Releases what was sent.
     */
    private static void assertNoAmplification(EmbeddedChannel channel, int answeredSize) {
        for (DatagramPacket sent; (sent = channel.readOutbound()) != null; ) {
            try {
                byte type = sent.content().getByte(0);
                if (type == Wire.COOKIE || type == Wire.ACCEPT || type == Wire.REJECT) {
                    assertThat(sent.content().readableBytes()).as("an answer of type " + type).isLessThanOrEqualTo(answeredSize);
                }
            } finally {
                sent.release();
            }
        }
    }
}
