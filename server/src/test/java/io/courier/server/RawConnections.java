package io.courier.server;

import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Connections opened by hand from a chosen source address (127.0.0.2, 127.0.0.3, … are all this
 * machine's), speaking just enough of each transport to be silent, say hello, or read a refusal.
 */
final class RawConnections {

    static final int TIMEOUT_MS = 30_000;

    private RawConnections() {
    }

    /** A TCP (or WebSocket, before any upgrade) socket from {@code source} to {@code address}'s host and port. */
    static Socket socket(String source, URI address) throws IOException {
        Socket socket = new Socket();
        socket.bind(new InetSocketAddress(source, 0));
        socket.connect(new InetSocketAddress(address.getHost(), address.getPort()), TIMEOUT_MS);
        socket.setSoTimeout(TIMEOUT_MS);
        return socket;
    }

    /** Sends a Courier hello on a TCP socket and returns the answer (a welcome or an error). */
    static Frame hello(Socket socket, String user, String token) throws IOException {
        Frame.newBuilder().setRequestId(1).setHello(Hello.newBuilder().setUser(user).setDevice("1").setToken(token))
            .build().writeDelimitedTo(socket.getOutputStream());
        socket.getOutputStream().flush();
        return readFrame(socket);
    }

    /** The next frame on a TCP socket, or null at its end. */
    static Frame readFrame(Socket socket) throws IOException {
        return Frame.parseDelimitedFrom(socket.getInputStream());
    }

    /** Everything until the peer closes, as text (an HTTP response). */
    static String readToEnd(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buffer = new byte[4096];
        for (int n; (n = in.read(buffer)) >= 0; ) {
            all.write(buffer, 0, n);
        }
        return all.toString(StandardCharsets.UTF_8);
    }

    /** A WebSocket upgrade request for {@code path} on {@code courier.v1.proto}. */
    static void upgrade(Socket socket, URI address) throws IOException {
        String request = "GET " + address.getPath() + " HTTP/1.1\r\nHost: " + address.getHost() + ":" + address.getPort()
            + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: courier.v1.proto\r\n\r\n";
        socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
    }

    /** Reads an HTTP response head (through the blank line). */
    static String readHead(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.append((char) b);
        }
        return head.toString();
    }

    /**
     * The UDP handshake from {@code socket}: HELLO, COOKIE, HELLO2; returns the server's answer to
     * HELLO2 (an ACCEPT or a REJECT), exactly as received.
     */
    static byte[] udpHandshake(DatagramSocket socket, URI address) throws IOException {
        InetSocketAddress server = new InetSocketAddress(address.getHost(), address.getPort());
        byte[] hello = new byte[1200];
        hello[0] = 1;
        hello[1] = 1;
        socket.setSoTimeout(TIMEOUT_MS);
        socket.send(new DatagramPacket(hello, hello.length, server));
        byte[] cookie = receive(socket);
        byte[] hello2 = new byte[1200];
        hello2[0] = 3;
        System.arraycopy(cookie, 1, hello2, 1, 24);
        socket.send(new DatagramPacket(hello2, hello2.length, server));
        return receive(socket);
    }

    static DatagramSocket datagramSocket(String source) throws IOException {
        return new DatagramSocket(new InetSocketAddress(InetAddress.getByName(source), 0));
    }

    static byte[] receive(DatagramSocket socket) throws IOException {
        byte[] buffer = new byte[2048];
        DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
        socket.receive(packet);
        return Arrays.copyOf(buffer, packet.getLength());
    }
}
