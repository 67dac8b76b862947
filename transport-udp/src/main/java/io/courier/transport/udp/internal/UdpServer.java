package io.courier.transport.udp.internal;

import io.courier.transport.ConnectionGate;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.IoThreadErrors;
import io.courier.transport.ListenException;
import io.courier.transport.TransportOptions;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.netty.EventLoops;
import io.courier.transport.udp.UdpTransportProvider;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The UDP server: one datagram channel (epoll, io_uring or NIO as the {@code io} option chooses:
 * {@link EventLoops}) and one event loop for every connection. Handshakes are
 * answered statelessly (cookies) and rate-limited per source address; everything else is routed
 * by connection id to its {@link UdpServerConnection}. The datagrams and the handshake are
 * specified in {@code docs/PROTOCOL.md}, section 5 (UDP).
 */
public final class UdpServer implements TransportServer {

    private static final Logger LOG = LoggerFactory.getLogger(UdpServer.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /**
     * Source addresses whose handshake rate is tracked at most. A source's entry goes once its
     * bucket has refilled (a second or two after its last handshake), so a HELLO that is never
     * followed up leaves nothing behind; under a flood from more sources than this, handshakes from
     * sources not yet tracked are dropped until entries expire.
     */
    static final int MAX_TRACKED_SOURCES = 65_536;
    private static final long TICK_MS = 5;
    private static final int TICKS_PER_PRUNE = 200;
    private static final int TICKS_PER_IDLE_CHECK = 50;

    private final TransportSettings settings;
    private final ConnectionHandler handler;
    private final Wire.Cookies cookies = new Wire.Cookies();
    // Changed on the event loop only; concurrent so that metrics may read it from elsewhere.
    private final Map<Long, UdpServerConnection> connections = new ConcurrentHashMap<>();
    // Event loop only.
    private final Map<ByteBuffer, Long> accepted = new HashMap<>();
    private final Map<InetAddress, double[]> handshakeBuckets = new HashMap<>();
    private final ReadBurst burst = new ReadBurst();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final int window;
    private final long minRtoNanos;
    private final long idleTimeoutNanos;
    private final double handshakesPerSecond;
    private final double handshakeBurst;
    private final int maxUnreadOutputBytes;
    private int ticksSincePrune;
    private int ticksSinceIdleCheck;
    /** Connections with work for a tick; event loop only. */
    private final java.util.Set<UdpServerConnection> busy = new java.util.LinkedHashSet<>();
    private final EventLoops loops;
    private EventLoopGroup group;
    private Channel channel;
    private volatile URI address;
    private boolean closed;

    public UdpServer(TransportSettings settings, ConnectionHandler handler) {
        this.settings = settings;
        this.handler = handler;
        Map<String, String> options = settings.options();
        this.window = UdpTransportProvider.WINDOW.intIn(options);
        this.minRtoNanos = TimeUnit.MILLISECONDS.toNanos(UdpTransportProvider.MIN_RTO_MS.intIn(options));
        this.idleTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(UdpTransportProvider.IDLE_TIMEOUT_MS.intIn(options));
        this.handshakesPerSecond = UdpTransportProvider.HANDSHAKES_PER_SECOND.numberIn(options);
        this.handshakeBurst = UdpTransportProvider.HANDSHAKE_BURST.numberIn(options);
        this.maxUnreadOutputBytes = TransportOptions.maxUnreadOutputBytes(settings, UdpServerConnection.HIGH_WATER_BYTES);
        this.loops = new EventLoops(settings);
    }

    @Override
    public synchronized void start() {
        group = loops.group(1, "courier-udp");
        try {
            channel = new Bootstrap().group(group).channel(loops.datagramChannel()).handler(new Dispatcher())
                .bind(settings.host(), settings.port()).syncUninterruptibly().channel();
        } catch (Exception e) {
            // Netty rethrows the bind's IOException unchecked (sneakily), so catch Exception.
            close();
            throw ListenException.of("UDP", settings.host(), settings.port(), e);
        }
        address = URI.create("udp://" + settings.host() + ":" + ((InetSocketAddress) channel.localAddress()).getPort());
        channel.eventLoop().scheduleAtFixedRate(this::tick, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    }

    /**
     * Every {@value #TICK_MS} ms, the connections with work for a tick (DATA in flight to
     * retransmit, a close lingering); every {@value #TICKS_PER_IDLE_CHECK} ticks, all of them, for
     * their idle timeout. Ticking every connection every 5 ms made a thousand idle UDP clients cost
     * a good part of a core.
     */
    private void tick() {
        long now = System.nanoTime();
        boolean all = ++ticksSinceIdleCheck >= TICKS_PER_IDLE_CHECK;
        if (all) {
            ticksSinceIdleCheck = 0;
        }
        for (UdpServerConnection connection : new ArrayList<>(all ? connections.values() : busy)) {
            try {
                connection.tick(now);
            } catch (Throwable failure) {
                connection.failed(failure);
            }
        }
        busy.removeIf(connection -> !connection.busy());
        // One flush for every connection's retransmissions: a flush per idle connection per tick
        // made thousands of idle connections cost a core.
        channel.flush();
        if (++ticksSincePrune >= TICKS_PER_PRUNE) {
            ticksSincePrune = 0;
            pruneHandshakeBuckets(now);
        }
    }

    /** Forgets the sources whose bucket has refilled: an entry made now would be the same. */
    private void pruneHandshakeBuckets(long now) {
        handshakeBuckets.values().removeIf(bucket ->
            bucket[0] + (now - (long) bucket[1]) / 1e9 * handshakesPerSecond >= handshakeBurst);
    }

    /** Source addresses whose handshake rate is being tracked now (for tests: a lone HELLO leaves none for long). */
    public int trackedSources() {
        try {
            return channel.eventLoop().submit(handshakeBuckets::size).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("The UDP server's event loop did not answer", e);
        }
    }

    /** What waits to be acknowledged by clients, summed; each connection's count read as it stands. */
    @Override
    public long unreadOutputBytes() {
        long sum = 0;
        for (UdpServerConnection connection : connections.values()) {
            sum += connection.unreadOutputBytes();
        }
        return sum;
    }

    /** Handshakes dropped by the per-address rate limit or for being too short. */
    @Override
    public long droppedHandshakes() {
        return dropped.get();
    }

    /** Datagrams whose handling failed unexpectedly (each logged with its stack trace): a bug when not zero. */
    public long failedDatagrams() {
        return failed.get();
    }

    /**
     * The server's datagram handler, answering on {@code on} instead of a socket of its own: for
     * tests that drive it in an {@code EmbeddedChannel}, without {@link #start()}.
     */
    ChannelHandler dispatcherOn(Channel on) {
        channel = on;
        return new Dispatcher();
    }

    private final class Dispatcher extends SimpleChannelInboundHandler<DatagramPacket> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
            burst.begin();
            ByteBuf in = packet.content();
            InetSocketAddress from = packet.sender();
            int size = in.readableBytes();
            if (size < 1) {
                return;
            }
            byte type = in.readByte();
            long now = System.nanoTime();
            if (type == Wire.HELLO || type == Wire.HELLO2) {
                handshake(type, in, size, from, now);
                return;
            }
            if (size < Wire.HEADER_BYTES) {
                return;
            }
            long id = in.readLong();
            UdpServerConnection connection = connections.get(id);
            if (connection == null || !connection.remote().equals(from)) {
                reject(id, "Unknown connection id " + id + "; say HELLO again", size, from);
                return;
            }
            try {
                connection.onDatagram(type, in, now);
            } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException truncated) {
                // A datagram shorter than its type's layout: the peer's mistake, dropped like a
                // lost datagram (the reliable stream recovers), worth one line and no stack trace.
                LOG.info("Connection {} from {} sent a truncated datagram of type {} ({} bytes); dropped it", id, from,
                    type, size);
            } catch (Throwable failure) {
                // Every connection shares this channel: what failed serving one closes that one only.
                connection.failed(failure);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            // Netty fires this after every read of up to MAX_MESSAGES_PER_READ datagrams, also when
            // handling one of them threw: no ACK waits past it.
            burst.end(ctx.channel());
            ctx.fireChannelReadComplete();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof Error error) {
                // Not one connection's (a read buffer, a handshake answer): the shared channel stays
                // open for everyone; an unrecoverable error stops the process (IoThreadErrors).
                handler.onIoThreadError(UdpTransportProvider.NAME, null, null, error);
                IoThreadErrors.escalate(error);
                return;
            }
            // A datagram socket stays usable after an ICMP error or a bad packet: log and go on.
            if (cause instanceof java.io.IOException) {
                LOG.debug("UDP server channel error: {}", cause.toString());
            } else {
                failed.incrementAndGet();
                LOG.warn("UDP server failed handling a datagram", cause);
            }
        }
    }

    private void handshake(byte type, ByteBuf in, int size, InetSocketAddress from, long now) {
        if (size < Wire.HANDSHAKE_BYTES || !allow(from.getAddress(), now)) {
            // Too short to be answered without amplification, or past the rate limit: silence.
            dropped.incrementAndGet();
            return;
        }
        long seconds = System.currentTimeMillis() / 1000;
        if (type == Wire.HELLO) {
            ByteBuf out = channel.alloc().buffer(25);
            out.writeByte(Wire.COOKIE).writeBytes(cookies.issue(from, seconds)).writeLong(seconds);
            channel.write(new DatagramPacket(out, from)); // the read burst's end flushes
            return;
        }
        byte[] cookie = new byte[16];
        in.readBytes(cookie);
        long issuedAt = in.readLong();
        if (!cookies.valid(from, cookie, issuedAt, seconds)) {
            reject(0, "Bad or expired cookie; start again with HELLO", size, from);
            return;
        }
        ByteBuffer key = ByteBuffer.wrap(cookie);
        Long existing = accepted.get(key);
        if (existing == null || !connections.containsKey(existing)) {
            long id = RANDOM.nextLong() & Long.MAX_VALUE;
            ConnectionGate.Admission[] admission = new ConnectionGate.Admission[1];
            UdpServerConnection connection = new UdpServerConnection(id, from, channel, handler, window,
                settings.maxFrameBytes(), minRtoNanos, idleTimeoutNanos, burst, () -> {
                    connections.remove(id);
                    accepted.remove(key);
                    open.decrementAndGet();
                    admission[0].release();
                }, maxUnreadOutputBytes);
            admission[0] = settings.gate().admit(from.getAddress(), UdpTransportProvider.NAME, connection);
            if (!admission[0].admitted()) {
                // The handshake is answered, not dropped: a client that is refused should not retry at once.
                admission[0].release();
                reject(0, admission[0].refusal().getText(), size, from);
                return;
            }
            connection.admitted(admission[0]);
            connection.onBusy(busy::add);
            admission[0].opened();
            connections.put(id, connection);
            accepted.put(key, id);
            open.incrementAndGet();
            handler.onOpen(connection);
            existing = id;
        }
        // A repeated HELLO2 (our ACCEPT was lost) gets the same id again.
        channel.write(Datagrams.header(channel, Wire.ACCEPT, existing, 0, from)); // the read burst's end flushes
    }

    /** A token bucket per source address for handshakes; at most {@link #MAX_TRACKED_SOURCES} of them. */
    private boolean allow(InetAddress source, long now) {
        double[] bucket = handshakeBuckets.get(source);
        if (bucket == null) {
            if (handshakeBuckets.size() >= MAX_TRACKED_SOURCES) {
                return false;
            }
            bucket = new double[] {handshakeBurst, now};
            handshakeBuckets.put(source, bucket);
        }
        bucket[0] = Math.min(handshakeBurst, bucket[0] + (now - (long) bucket[1]) / 1e9 * handshakesPerSecond);
        bucket[1] = now;
        if (bucket[0] < 1) {
            return false;
        }
        bucket[0] -= 1;
        return true;
    }

    /** REJECT, never larger than the datagram it answers. */
    private void reject(long id, String reason, int answeredSize, InetSocketAddress to) {
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        int room = Math.max(0, answeredSize - Wire.HEADER_BYTES);
        ByteBuf out = channel.alloc().buffer(Wire.HEADER_BYTES + Math.min(room, text.length));
        out.writeByte(Wire.REJECT).writeLong(id).writeBytes(text, 0, Math.min(room, text.length));
        // Only ever answering a datagram of the read burst, whose end flushes.
        channel.write(new DatagramPacket(out, to));
    }

    @Override
    public URI address() {
        URI bound = address;
        if (bound == null) {
            throw new IllegalStateException("The UDP server is not started");
        }
        return bound;
    }

    @Override
    public int connectionCount() {
        return open.get();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (channel != null) {
            channel.eventLoop().submit(() -> {
                for (UdpServerConnection connection : new ArrayList<>(connections.values())) {
                    connection.shutdown();
                }
            }).syncUninterruptibly();
            channel.close().syncUninterruptibly();
        }
        if (group != null) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
