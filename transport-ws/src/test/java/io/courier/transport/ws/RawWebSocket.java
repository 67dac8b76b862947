package io.courier.transport.ws;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A WebSocket client written on a plain socket, reading only when told to: what a client that
 * stops reading looks like to the server. Frames are RFC 6455's, masked as a client's must be
 * (with a zero key, which leaves the payload as it is).
 */
final class RawWebSocket implements AutoCloseable {

    /** One frame the server sent. */
    record Message(int opcode, byte[] payload) {
        boolean isClose() {
            return opcode == 0x8;
        }

        int closeStatus() {
            return ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF);
        }
    }

    final Socket socket;
    private final OutputStream out;
    private final InputStream in;

    private RawWebSocket(Socket socket) throws IOException {
        this.socket = socket;
        this.out = socket.getOutputStream();
        this.in = socket.getInputStream();
    }

    /** Connects with a receive buffer of {@code receiveBuffer} bytes and completes the upgrade. */
    static RawWebSocket upgrade(InetSocketAddress address, String path, String subprotocol, int receiveBuffer)
        throws IOException {
        Socket socket = new Socket();
        socket.setReceiveBufferSize(receiveBuffer);
        socket.connect(address);
        socket.setSoTimeout(30_000);
        RawWebSocket ws = new RawWebSocket(socket);
        ws.out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            + "Sec-WebSocket-Protocol: " + subprotocol + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        ws.out.flush();
        assertThat(readHead(ws.in)).startsWith("HTTP/1.1 101");
        return ws;
    }

    /** Sends one binary message, masked. */
    void sendBinary(byte[] payload) throws IOException {
        ByteArrayOutputStream frame = new ByteArrayOutputStream(payload.length + 14);
        frame.write(0x82);
        if (payload.length < 126) {
            frame.write(0x80 | payload.length);
        } else if (payload.length <= 0xFFFF) {
            frame.write(0x80 | 126);
            frame.write(payload.length >>> 8);
            frame.write(payload.length);
        } else {
            frame.write(0x80 | 127);
            for (int shift = 56; shift >= 0; shift -= 8) {
                frame.write((int) ((long) payload.length >>> shift));
            }
        }
        // A zero masking key: masked as RFC 6455 requires, the payload unchanged, no copy to make.
        frame.write(new byte[4]);
        frame.writeTo(out);
        out.write(payload);
        out.flush();
    }

    /** The next frame from the server, or null at the end of the stream. */
    Message next() throws IOException {
        int first = in.read();
        if (first < 0) {
            return null;
        }
        int second = in.read();
        long length = second & 0x7F;
        if (length == 126) {
            length = ((in.read() & 0xFF) << 8) | (in.read() & 0xFF);
        } else if (length == 127) {
            length = 0;
            for (int i = 0; i < 8; i++) {
                length = (length << 8) | (in.read() & 0xFF);
            }
        }
        byte[] payload = in.readNBytes((int) length);
        return new Message(first & 0x0F, payload);
    }

    /** An HTTP response's head (status line and headers), or what came before the end of the stream. */
    static String readHead(InputStream in) throws IOException {
        StringBuilder text = new StringBuilder();
        while (!text.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            text.append((char) b);
        }
        return text.toString();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
