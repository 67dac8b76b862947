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
import java.util.function.UnaryOperator;

/**
 * A TCP proxy on loopback between a client and a Courier server that can cut every connection it
 * carries at any moment, and that decodes the frames passing through (TCP framing: a varint32
 * length, then the frame) so a test can count what the server really sent, and counts the bytes
 * that cross it each way. It keeps every byte it carried ({@link #capture}), and can make frame-aware
 * mischief: {@link FrameChaos} on what clients send, and a rewrite of the frames the server sends
 * ({@link #rewriteFromServer}).
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
    /** Every byte carried, each way, on every connection. */
    final WireCapture capture = new WireCapture();
    private volatile FrameChaos clientChaos;
    private volatile UnaryOperator<Frame> serverRewrite;

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

    /**
     * Sends what clients send through {@code chaos} (on connections opened from now on), frame by
     * frame; the byte-count cuts do not apply to that direction then.
     */
    void chaosFromClient(FrameChaos chaos) {
        this.clientChaos = chaos;
    }

    /**
     * Passes each frame the server sends through {@code rewrite} (on connections opened from now
     * on): a frame it returns unchanged goes on byte for byte, another is encoded anew.
     */
    void rewriteFromServer(UnaryOperator<Frame> rewrite) {
        this.serverRewrite = rewrite;
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
                int connection = connections.incrementAndGet();
                open.add(client);
                open.add(server);
                pump(client, server, fromClient::add, bytesFromClient, capture.open(connection, true));
                pump(server, client, fromServer::add, bytesFromServer, capture.open(connection, false));
            } catch (IOException e) {
                if (!closed) {
                    throw new IllegalStateException("The chaos proxy's listener failed", e);
                }
            }
        }
    }

    private void pump(Socket from, Socket to, Consumer<Frame> tap, java.util.concurrent.atomic.AtomicLong bytes,
                      WireCapture.Stream captured) {
        boolean server = bytes == bytesFromServer;
        FrameChaos chaos = server ? null : clientChaos;
        UnaryOperator<Frame> rewrite = server ? serverRewrite : null;
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[16384];
            FrameChaos.Lane lane = null;
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                FrameReader reader;
                if (chaos != null) {
                    lane = chaos.lane(out, this::cut);
                    FrameChaos.Lane l = lane;
                    reader = new FrameReader((frame, raw) -> {
                        tap.accept(frame);
                        bytes.addAndGet(raw.length);
                        l.frame(frame, raw);
                    });
                } else if (rewrite != null) {
                    reader = new FrameReader((frame, raw) -> {
                        tap.accept(frame);
                        Frame changed = rewrite.apply(frame);
                        if (changed == frame) {
                            out.write(raw);
                        } else {
                            changed.writeDelimitedTo(out);
                        }
                        bytes.addAndGet(raw.length);
                    });
                } else {
                    reader = new FrameReader((frame, raw) -> tap.accept(frame));
                }
                boolean perFrame = chaos != null || rewrite != null;
                for (int n; (n = in.read(buffer)) > 0; ) {
                    capture.record(captured, buffer, 0, n);
                    if (frames || perFrame) {
                        reader.feed(buffer, n);
                    }
                    if (perFrame) {
                        continue; // the reader's sink forwarded the complete frames
                    }
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
                if (lane != null) {
                    lane.closed();
                }
                closeQuietly(from);
                closeQuietly(to);
                open.remove(from);
                open.remove(to);
            }
        }, "chaos-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    /** Where a {@link FrameReader} puts each complete frame, with its bytes as read (length prefix included). */
    private interface FrameSink {
        void accept(Frame frame, byte[] raw) throws IOException;
    }

    /** Splits a TCP byte stream into frames (PROTOCOL.md 3.1). */
    private static final class FrameReader {
        private final FrameSink tap;
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

        FrameReader(FrameSink tap) {
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
                tap.accept(Frame.parseFrom(java.util.Arrays.copyOfRange(all, p, p + length)),
                    java.util.Arrays.copyOfRange(all, at, p + length));
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
