package io.courier.transport.udp;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.courier.transport.ClientConnection;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Send;
import io.courier.transport.tck.EchoRouter;
import io.courier.transport.udp.internal.UdpServer;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Hostile datagrams from a raw socket, each refused clearly while a bystander pair keeps chatting. */
class UdpBadInputTest {

    private UdpServer server;
    private InetSocketAddress address;
    private TransportClient client;

    @BeforeEach
    void start() {
        server = new UdpServer(new TransportSettings("127.0.0.1", 0, 64 * 1024, Map.of()), new EchoRouter());
        server.start();
        address = new InetSocketAddress(server.address().getHost(), server.address().getPort());
        client = new UdpTransportProvider().createClient(TransportSettings.of(0));
    }

    @AfterEach
    void stop() throws Exception {
        bystandersStillChat();
        client.close();
        server.close();
    }

    @Test
    void shouldRejectABadCookie() throws Exception {
        try (DatagramSocket socket = socket()) {
            ByteBuffer hello2 = ByteBuffer.allocate(1_200);
            hello2.put((byte) 3).put(new byte[16]).putLong(System.currentTimeMillis() / 1000);
            byte[] reply = exchange(socket, hello2.array());
            assertThat(reply[0]).as("REJECT").isEqualTo((byte) 9);
            assertThat(text(reply)).contains("cookie");
        }
    }

    @Test
    void shouldRejectAnUnknownConnectionIdWithoutAmplifying() throws Exception {
        try (DatagramSocket socket = socket()) {
            ByteBuffer data = ByteBuffer.allocate(40);
            data.put((byte) 5).putLong(123456789L).putInt(1).putShort((short) 0).putShort((short) 1);
            byte[] reply = exchange(socket, data.array());
            assertThat(reply[0]).isEqualTo((byte) 9);
            assertThat(reply.length).as("never larger than what it answers").isLessThanOrEqualTo(40);
            assertThat(text(reply)).startsWith("Unknown connection");
        }
    }

    @Test
    void shouldCloseWithAnErrorOnAFragmentIndexOutOfRange() throws Exception {
        try (DatagramSocket socket = socket()) {
            long id = handshake(socket);
            ByteBuffer data = ByteBuffer.allocate(21);
            data.put((byte) 5).putLong(id).putInt(1).putShort((short) 7).putShort((short) 3).putInt(0);
            Error error = errorFrom(socket, data.array());
            assertThat(error.getCode()).isEqualTo(Error.Code.MALFORMED_FRAME);
            assertThat(error.getText()).contains("out of range");
        }
    }

    @Test
    void shouldCloseWithAnErrorOnAnOversizedReassembly() throws Exception {
        try (DatagramSocket socket = socket()) {
            long id = handshake(socket);
            ByteBuffer data = ByteBuffer.allocate(21);
            data.put((byte) 5).putLong(id).putInt(1).putShort((short) 0).putShort((short) 60_000).putInt(0);
            Error error = errorFrom(socket, data.array());
            assertThat(error.getCode()).isEqualTo(Error.Code.FRAME_TOO_LARGE);
        }
    }

    @Test
    void shouldDropATruncatedAckAndKeepTheConnection() throws Exception {
        try (DatagramSocket socket = socket()) {
            long id = handshake(socket);
            ByteBuffer ack = ByteBuffer.allocate(11);
            ack.put((byte) 6).putLong(id).putShort((short) 1); // an ACK needs 12 more bytes than this
            socket.send(new DatagramPacket(ack.array(), ack.capacity(), address));
            ByteBuffer ping = ByteBuffer.allocate(9);
            ping.put((byte) 7).putLong(id);
            byte[] reply = exchange(socket, ping.array());
            assertThat(reply[0]).as("PING answered: the connection survived").isEqualTo((byte) 7);
        }
    }

    @Test
    void shouldRateLimitAFloodOfHandshakesAndIgnoreShortOnes() throws Exception {
        try (DatagramSocket socket = socket()) {
            socket.send(new DatagramPacket(new byte[] {1, 1}, 2, address)); // too short to answer
            byte[] hello = new byte[1_200];
            hello[0] = 1;
            hello[1] = 1;
            for (int i = 0; i < 300; i++) {
                socket.send(new DatagramPacket(hello, hello.length, address));
            }
            int cookies = 0;
            socket.setSoTimeout(1_000);
            try {
                while (cookies < 300) {
                    DatagramPacket reply = new DatagramPacket(new byte[2_000], 2_000);
                    socket.receive(reply);
                    assertThat(reply.getLength()).as("a cookie is smaller than the hello").isLessThan(1_200);
                    cookies++;
                }
            } catch (SocketTimeoutException drained) {
                // no more answers
            }
            // Some of the 300 may be lost in the kernel's socket buffers; of those that reach the
            // server, only the burst (40) plus the refill (20/s) are answered, the rest counted.
            assertThat(cookies).as("answered only up to the burst and refill").isPositive().isLessThan(100);
            assertThat(server.droppedHandshakes()).as("the short hello and the rate-limited ones").isGreaterThan(1);
        }
    }

    /**
     * The handshake is stateless: a HELLO is answered with a cookie and nothing is kept for it — no
     * connection, and the source's rate-limit bucket, its one trace, is forgotten once it refills.
     * A client that never sends HELLO2 therefore costs the server nothing that lasts.
     */
    @Test
    void shouldHoldNothingForAHelloNeverFollowedByHello2() throws Exception {
        try (DatagramSocket socket = socket()) {
            byte[] hello = new byte[1_200];
            hello[0] = 1;
            hello[1] = 1;
            assertThat(exchange(socket, hello)[0]).as("COOKIE").isEqualTo((byte) 2);
            assertThat(server.connectionCount()).as("no connection before HELLO2").isZero();
            await().atMost(10, SECONDS).until(() -> server.trackedSources() == 0);
            assertThat(server.connectionCount()).isZero();
            assertThat(server.unreadOutputBytes()).isZero();
        }
    }

    // ---------------------------------------------------------------- helpers

    private DatagramSocket socket() throws Exception {
        DatagramSocket socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
        socket.setSoTimeout(10_000);
        return socket;
    }

    private byte[] exchange(DatagramSocket socket, byte[] datagram) throws Exception {
        socket.send(new DatagramPacket(datagram, datagram.length, address));
        DatagramPacket reply = new DatagramPacket(new byte[2_000], 2_000);
        socket.receive(reply);
        byte[] bytes = new byte[reply.getLength()];
        System.arraycopy(reply.getData(), 0, bytes, 0, bytes.length);
        return bytes;
    }

    /** HELLO, COOKIE, HELLO2, ACCEPT: returns the connection id. */
    private long handshake(DatagramSocket socket) throws Exception {
        byte[] hello = new byte[1_200];
        hello[0] = 1;
        hello[1] = 1;
        ByteBuffer cookie = ByteBuffer.wrap(exchange(socket, hello));
        assertThat(cookie.get()).isEqualTo((byte) 2);
        ByteBuffer hello2 = ByteBuffer.allocate(1_200);
        hello2.put((byte) 3).put(cookie);
        ByteBuffer accept = ByteBuffer.wrap(exchange(socket, hello2.array()));
        assertThat(accept.get()).isEqualTo((byte) 4);
        return accept.getLong();
    }

    /** Sends {@code datagram}, then reads until a DATA datagram carrying an error frame arrives. */
    private Error errorFrom(DatagramSocket socket, byte[] datagram) throws Exception {
        socket.send(new DatagramPacket(datagram, datagram.length, address));
        for (int i = 0; i < 20; i++) {
            DatagramPacket reply = new DatagramPacket(new byte[2_000], 2_000);
            socket.receive(reply);
            ByteBuffer in = ByteBuffer.wrap(reply.getData(), 0, reply.getLength());
            if (in.get() != 5) {
                continue; // ACKs and the like
            }
            in.getLong();
            in.getInt();
            in.getShort();
            in.getShort();
            Frame frame = Frame.parseFrom(in);
            assertThat(frame.hasError()).isTrue();
            assertThat(frame.getError().getFatal()).isTrue();
            return frame.getError();
        }
        throw new AssertionError("no error frame");
    }

    private static String text(byte[] reject) {
        return new String(reject, 9, reject.length - 9, StandardCharsets.UTF_8);
    }

    private void bystandersStillChat() throws Exception {
        BlockingQueue<Frame> daveFrames = new LinkedBlockingQueue<>();
        BlockingQueue<Frame> erinFrames = new LinkedBlockingQueue<>();
        ClientConnection dave = client.connect(server.address(), daveFrames::add).get(10, SECONDS);
        ClientConnection erin = client.connect(server.address(), erinFrames::add).get(10, SECONDS);
        dave.send(Frame.newBuilder().setHello(Hello.newBuilder().setUser("dave")).build());
        erin.send(Frame.newBuilder().setHello(Hello.newBuilder().setUser("erin")).build());
        assertThat(daveFrames.poll(10, SECONDS).hasWelcome()).isTrue();
        assertThat(erinFrames.poll(10, SECONDS).hasWelcome()).isTrue();
        dave.send(Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId("d").setRecipient("erin")
            .setPayload(ByteString.copyFromUtf8("still here"))).build());
        Frame deliver = erinFrames.poll(10, SECONDS);
        assertThat(deliver).isNotNull();
        assertThat(deliver.getDeliver().getPayload().toStringUtf8()).isEqualTo("still here");
        dave.close();
        erin.close();
    }
}
