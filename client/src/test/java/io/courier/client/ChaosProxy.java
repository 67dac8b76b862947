package io.courier.client;

import io.courier.transport.proto.Frame;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A TCP proxy on loopback between a client and a Courier server that can cut every connection it
 * carries at any moment, and that decodes the frames passing through (TCP framing: a varint32
 * length, then the frame) so a test can count what the server really sent, and counts the bytes
 * that cross it each way.
 */
final class ChaosProxy implements AutoCloseable {

    private final ServerSocket listener;
    private final int upstreamPort;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final AtomicInteger cuts = new AtomicInteger();
    private final AtomicInteger connections = new AtomicInteger();
    final List<Frame> fromServer = new CopyOnWriteArrayList<>();
    final List<Frame> fromClient = new CopyOnWriteArrayList<>();
    final java.util.concurrent.atomic.AtomicLong bytesFromServer = new java.util.concurrent.atomic.AtomicLong();
    final java.util.concurrent.atomic.AtomicLong bytesFromClient = new java.util.concurrent.atomic.AtomicLong();
    private volatile boolean closed;

    private final boolean frames;
    private volatile long cutAtServerBytes = Long.MAX_VALUE;
    private volatile long cutAtClientBytes = Long.MAX_VALUE;

    ChaosProxy(int upstreamPort) throws IOException {
        this(upstreamPort, true);
    }

    /** With {@code frames} false, it carries any TCP stream (HTTP, say) without decoding it. */
    ChaosProxy(int upstreamPort, boolean frames) throws IOException {
        this.upstreamPort = upstreamPort;
        this.frames = frames;
        this.listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread accept = new Thread(this::acceptLoop, "chaos-proxy-accept");
        accept.setDaemon(true);
        accept.start();
    }

    /**
     * Cuts every connection once the server has sent {@code total} bytes through this proxy (counted
     * from its start): the client gets exactly that many, then a closed connection.
     */
    void cutWhenServerSent(long total) {
        cutAtServerBytes = total;
    }

    /** Likewise once clients have sent {@code total} bytes through it: the server gets that many. */
    void cutWhenClientSent(long total) {
        cutAtClientBytes = total;
    }

    int port() {
        return listener.getLocalPort();
    }

    URI address() {
        return URI.create("tcp://127.0.0.1:" + listener.getLocalPort());
    }

    int cuts() {
        return cuts.get();
    }

    int connections() {
        return connections.get();
    }

    /** Closes every connection open now, both its halves. Counts one cut if any was open. */
    void cut() {
        boolean any = false;
        for (Socket s : open) {
            any = true;
            closeQuietly(s);
            open.remove(s);
        }
        if (any) {
            cuts.incrementAndGet();
        }
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = listener.accept();
                Socket server;
                try {
                    server = new Socket(InetAddress.getLoopbackAddress(), upstreamPort);
                } catch (IOException refused) {
                    closeQuietly(client); // the server is down: the client sees a closed connection
                    continue;
                }
                client.setTcpNoDelay(true);
                server.setTcpNoDelay(true);
                connections.incrementAndGet();
                open.add(client);
                open.add(server);
                pump(client, server, fromClient::add, bytesFromClient);
                pump(server, client, fromServer::add, bytesFromServer);
            } catch (IOException e) {
                if (!closed) {
                    throw new IllegalStateException("The chaos proxy's listener failed", e);
                }
            }
        }
    }

    private void pump(Socket from, Socket to, Consumer<Frame> tap, java.util.concurrent.atomic.AtomicLong bytes) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[16384];
            FrameReader reader = new FrameReader(tap);
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n; (n = in.read(buffer)) > 0; ) {
                    if (frames) {
                        reader.feed(buffer, n);
                    }
                    boolean server = bytes == bytesFromServer;
                    long limit = server ? cutAtServerBytes : cutAtClientBytes;
                    long room = limit - bytes.get();
                    if (room < n) {
                        out.write(buffer, 0, (int) Math.max(0, room));
                        bytes.addAndGet(Math.max(0, room));
                        if (server) {
                            cutAtServerBytes = Long.MAX_VALUE;
                        } else {
                            cutAtClientBytes = Long.MAX_VALUE;
                        }
                        cut();
                        break;
                    }
                    out.write(buffer, 0, n);
                    bytes.addAndGet(n);
                }
            } catch (IOException e) {
                // A cut, or the other side closed: the pair goes down together below.
            } finally {
                closeQuietly(from);
                closeQuietly(to);
                open.remove(from);
                open.remove(to);
            }
        }, "chaos-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    /** Splits a TCP byte stream into frames (PROTOCOL.md 3.1). */
    private static final class FrameReader {
        private final Consumer<Frame> tap;
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

        FrameReader(Consumer<Frame> tap) {
            this.tap = tap;
        }

        void feed(byte[] bytes, int n) throws IOException {
            pending.write(bytes, 0, n);
            byte[] all = pending.toByteArray();
            int at = 0;
            while (true) {
                int length = 0;
                int shift = 0;
                int p = at;
                boolean complete = false;
                while (p < all.length && shift < 35) {
                    byte b = all[p++];
                    length |= (b & 0x7f) << shift;
                    shift += 7;
                    if ((b & 0x80) == 0) {
                        complete = true;
                        break;
                    }
                }
                if (!complete || p + length > all.length) {
                    break;
                }
                tap.accept(Frame.parseFrom(java.util.Arrays.copyOfRange(all, p, p + length)));
                at = p + length;
            }
            pending.reset();
            pending.write(all, at, all.length - at);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // Closing a socket that is already broken: nothing left to release.
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        listener.close();
        cut();
    }
}
