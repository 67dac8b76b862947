package io.courier.bench.peer;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * A loopback stand-in for a broker that misbehaves on purpose: it answers every CONNECT with
 * {@code connAckCode} and every SUBSCRIBE with {@code grantedQos}, and nothing else, with a thread
 * per connection; enough to see how the target reports a refusal.
 */
final class ScriptedBroker implements AutoCloseable {

    private final ServerSocket server;
    private final Thread thread;

    ScriptedBroker(int connAckCode, int grantedQos) throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        thread = new Thread(() -> serve(connAckCode, grantedQos), "scripted-broker");
        thread.setDaemon(true);
        thread.start();
    }

    String address() {
        return "mqtt://127.0.0.1:" + server.getLocalPort();
    }

    /** Accepts connections and answers each on its own thread: a pair's two connections overlap. */
    private void serve(int connAckCode, int grantedQos) {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                Thread connection = new Thread(() -> answer(socket, connAckCode, grantedQos), "scripted-broker-connection");
                connection.setDaemon(true);
                connection.start();
            } catch (IOException closed) {
                // The broker is closing.
            }
        }
    }

    private static void answer(Socket accepted, int connAckCode, int grantedQos) {
        try (Socket socket = accepted) {
            DataInputStream in = new DataInputStream(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            while (true) {
                int type = in.readUnsignedByte() >> 4;
                byte[] body = new byte[remainingLength(in)];
                in.readFully(body);
                if (type == 1) {
                    out.write(new byte[] {0x20, 0x02, 0x00, (byte) connAckCode});
                } else if (type == 8) {
                    out.write(new byte[] {(byte) 0x90, 0x03, body[0], body[1], (byte) grantedQos});
                }
                out.flush();
            }
        } catch (IOException closed) {
            // The client hung up or the broker is closing.
        }
    }

    private static int remainingLength(DataInputStream in) throws IOException {
        int length = 0;
        for (int shift = 0; ; shift += 7) {
            int digit = in.readUnsignedByte();
            length |= (digit & 0x7F) << shift;
            if ((digit & 0x80) == 0) {
                return length;
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
