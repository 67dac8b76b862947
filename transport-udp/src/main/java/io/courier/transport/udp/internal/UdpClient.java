package io.courier.transport.udp.internal;

import com.google.protobuf.InvalidProtocolBufferException;
import io.courier.transport.ClientConnection;
import io.courier.transport.ClientListener;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportException;
import io.courier.transport.TransportSettings;
import io.courier.transport.netty.EventLoops;
import io.courier.transport.udp.UdpTransportProvider;
import io.courier.transport.proto.Frame;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The UDP client: one datagram channel per connection (epoll, io_uring or NIO, as {@link EventLoops}
 * chooses), so datagrams need no demultiplexing; the
 * handshake is retried until the server answers or the connect timeout passes. DATA is
 * acknowledged once per read burst, at {@code channelReadComplete}, which also flushes.
 */
public final class UdpClient implements TransportClient {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(UdpClient.class);
    private static final long RETRY_MS = 200;

    private final EventLoops loops;
    private final EventLoopGroup group;
    private final int window;
    private final long minRtoNanos;
    private final long connectTimeoutMs;
    private final long keepaliveMs;
    private final long idleTimeoutNanos;
    private final Consumer<ChannelPipeline> pipelineHook;
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();

    public UdpClient(TransportSettings settings) {
        this(settings, pipeline -> { });
    }

    /** With a hook that may add handlers in front of the client's own (tests add a lossy link). */
    public UdpClient(TransportSettings settings, Consumer<ChannelPipeline> pipelineHook) {
        Map<String, String> options = settings.options();
        this.window = UdpTransportProvider.WINDOW.intIn(options);
        this.minRtoNanos = TimeUnit.MILLISECONDS.toNanos(UdpTransportProvider.MIN_RTO_MS.intIn(options));
        this.connectTimeoutMs = UdpTransportProvider.CONNECT_TIMEOUT_MS.intIn(options);
        this.keepaliveMs = UdpTransportProvider.KEEPALIVE_MS.intIn(options);
        this.idleTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(UdpTransportProvider.IDLE_TIMEOUT_MS.intIn(options));
        // Options first: a malformed one must not leave threads behind.
        this.loops = new EventLoops(settings);
        this.group = loops.group(UdpTransportProvider.CLIENT_THREADS.intIn(options), "courier-udp-client");
        this.pipelineHook = pipelineHook;
    }

    @Override
    public CompletableFuture<ClientConnection> connect(URI address, ClientListener listener) {
        CompletableFuture<ClientConnection> result = new CompletableFuture<>();
        if (!"udp".equals(address.getScheme()) || address.getHost() == null || address.getPort() < 0) {
            result.completeExceptionally(new TransportException("Not a UDP address: " + address + " (expected udp://host:port)"));
            return result;
        }
        InetSocketAddress server = new InetSocketAddress(address.getHost(), address.getPort());
        Session session = new Session(server, listener, result, address);
        new Bootstrap().group(group).channel(loops.datagramChannel())
            .handler(new io.netty.channel.ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel channel) {
                    pipelineHook.accept(channel.pipeline());
                    channel.pipeline().addLast("session", session);
                }
            })
            .bind(0).addListener(f -> {
                if (!f.isSuccess()) {
                    result.completeExceptionally(new TransportException("Cannot open a UDP socket: " + f.cause(), f.cause()));
                }
            });
        return result;
    }

    @Override
    public void close() {
        for (Session session : sessions) {
            session.close();
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** One connection: handshake, then a reliable stream with the server. */
    private final class Session extends SimpleChannelInboundHandler<DatagramPacket>
        implements ClientConnection, ReliableStream.Sink {

        private final InetSocketAddress server;
        private final ClientListener listener;
        private final CompletableFuture<ClientConnection> connected;
        private final URI address;
        private final CompletableFuture<Void> closed = new CompletableFuture<>();
        private final ReliableStream stream;
        private Channel channel;
        private long id;
        private byte[] cookie;
        private long cookieIssuedAt;
        private long startedMs;
        private long lastSentMs;
        private long lastHeardNanos;
        private ScheduledFuture<?> timer;
        private volatile boolean ended;

        Session(InetSocketAddress server, ClientListener listener, CompletableFuture<ClientConnection> connected, URI address) {
            this.server = server;
            this.listener = listener;
            this.connected = connected;
            this.address = address;
            this.stream = new ReliableStream(this, window, Integer.MAX_VALUE, minRtoNanos, 5_000_000_000L);
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            channel = ctx.channel();
            sessions.add(this);
            startedMs = System.currentTimeMillis();
            lastHeardNanos = System.nanoTime();
            sendHandshake();
            timer = channel.eventLoop().scheduleAtFixedRate(this::tick, 5, 5, TimeUnit.MILLISECONDS);
        }

        private void sendHandshake() {
            ByteBuf out = channel.alloc().buffer(Wire.HANDSHAKE_BYTES);
            if (cookie == null) {
                out.writeByte(Wire.HELLO).writeByte(Wire.VERSION);
            } else {
                out.writeByte(Wire.HELLO2).writeBytes(cookie).writeLong(cookieIssuedAt);
            }
            out.writeZero(Wire.HANDSHAKE_BYTES - out.readableBytes());
            channel.writeAndFlush(new DatagramPacket(out, server));
            lastSentMs = System.currentTimeMillis();
        }

        private void tick() {
            long nowMs = System.currentTimeMillis();
            if (!connected.isDone()) {
                if (nowMs - startedMs > connectTimeoutMs) {
                    connected.completeExceptionally(new TransportException("Cannot connect to " + address
                        + ": no answer within " + connectTimeoutMs + " ms"));
                    end(false);
                } else if (nowMs - lastSentMs >= RETRY_MS) {
                    sendHandshake();
                }
                return;
            }
            long now = System.nanoTime();
            stream.tick(now);
            if (now - lastHeardNanos > idleTimeoutNanos) {
                end(true);
                return;
            }
            if (nowMs - lastSentMs >= keepaliveMs) {
                channel.write(Datagrams.header(channel, Wire.PING, id, 0, server));
                lastSentMs = nowMs;
            }
            channel.flush();
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
            ByteBuf in = packet.content();
            if (in.readableBytes() < 1 || !packet.sender().equals(server)) {
                return;
            }
            lastHeardNanos = System.nanoTime();
            byte type = in.readByte();
            if (type == Wire.COOKIE && cookie == null && in.readableBytes() >= 24) {
                cookie = new byte[16];
                in.readBytes(cookie);
                cookieIssuedAt = in.readLong();
                sendHandshake();
                return;
            }
            if (in.readableBytes() < 8) {
                return;
            }
            long connectionId = in.readLong();
            switch (type) {
                case Wire.ACCEPT -> {
                    if (!connected.isDone()) {
                        id = connectionId;
                        connected.complete(this);
                    }
                }
                case Wire.DATA -> {
                    if (connectionId == id) {
                        byte[] bytes = new byte[in.readableBytes()];
                        in.readBytes(bytes);
                        stream.onData(ByteBuffer.wrap(bytes));
                    }
                }
                case Wire.ACK -> {
                    if (connectionId == id) {
                        byte[] bytes = new byte[in.readableBytes()];
                        in.readBytes(bytes);
                        stream.onAck(ByteBuffer.wrap(bytes), System.nanoTime());
                    }
                }
                case Wire.CLOSE, Wire.REJECT -> {
                    if (connectionId == id || !connected.isDone()) {
                        connected.completeExceptionally(new TransportException("UDP server at " + address + " refused the connection"));
                        end(false);
                    }
                }
                default -> {
                    // PING: liveness only, already noted.
                }
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            // Netty fires this after every read of up to MAX_MESSAGES_PER_READ datagrams, also when
            // handling one of them threw: one ACK for the burst's DATA, one flush for all it wrote.
            if (!ended) {
                stream.flushAck();
                channel.flush();
            }
            ctx.fireChannelReadComplete();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof java.io.IOException) {
                // ICMP port unreachable and the like: keep trying until the connect timeout.
                return;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            LOG.warn("UDP client connection to {} failed; closing it", address, cause);
            end(true);
        }

        // ReliableStream.Sink

        @Override
        public void sendData(ByteBuffer body) {
            channel.write(Datagrams.withBody(channel, Wire.DATA, id, body, server));
            lastSentMs = System.currentTimeMillis();
        }

        @Override
        public void sendAck(ByteBuffer body) {
            channel.write(Datagrams.withBody(channel, Wire.ACK, id, body, server));
        }

        @Override
        public void message(byte[] bytes) {
            try {
                listener.onFrame(Frame.parseFrom(bytes));
            } catch (InvalidProtocolBufferException e) {
                end(true);
            }
        }

        @Override
        public void violation(boolean tooLarge, String detail) {
            end(true);
        }

        // ClientConnection

        @Override
        public void send(Frame frame) {
            sendBytes(frame.toByteArray());
        }

        @Override
        public void sendUnchecked(byte[] encodedFrame) {
            sendBytes(encodedFrame);
        }

        private void sendBytes(byte[] bytes) {
            channel.eventLoop().execute(() -> {
                if (!ended) {
                    stream.send(bytes, System.nanoTime());
                    channel.flush();
                }
            });
        }

        @Override
        public boolean isOpen() {
            return !ended && connected.isDone() && !connected.isCompletedExceptionally();
        }

        @Override
        public void close() {
            if (channel != null) {
                channel.eventLoop().execute(() -> end(true));
            }
        }

        private void end(boolean sayClose) {
            if (ended) {
                return;
            }
            ended = true;
            if (timer != null) {
                timer.cancel(false);
            }
            if (sayClose && id != 0) {
                channel.writeAndFlush(Datagrams.header(channel, Wire.CLOSE, id, 0, server));
            }
            sessions.remove(this);
            channel.close();
            try {
                if (connected.isDone() && !connected.isCompletedExceptionally()) {
                    listener.onClose();
                }
            } finally {
                closed.complete(null);
            }
        }

        @Override
        public CompletableFuture<Void> closeFuture() {
            return closed;
        }
    }
}
