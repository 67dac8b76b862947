package io.courier.transport.netty;

import io.courier.transport.ListenException;
import io.courier.transport.TransportOptions;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A listening Netty server for a stream transport: one acceptor thread, a group of I/O threads
 * (io_uring, epoll or NIO, as {@link EventLoops} chooses), TCP_NODELAY, write-buffer water marks and the unread-output limit from the
 * options, one bounded read per connection per turn of its event loop (so no connection's input
 * holds up the others'), and every accepted channel tracked so {@link #close()} reaches it. The
 * transport supplies the pipeline.
 */
public final class NettyServer implements TransportServer {

    /** The most bytes read from one connection per turn of its event loop. */
    static final int READ_BYTES = 16 * 1024;

    /** Makes the transport's channel initializer. */
    public interface Initializer {
        /**
         * @param open                  the count of open connections the bridge keeps.
         * @param channels              every accepted channel must be added here.
         * @param maxUnreadOutputBytes  {@code max-unread-output-bytes}, checked: each channel's
         *                              {@link UnreadOutputLimit}.
         */
        ChannelHandler create(AtomicInteger open, ChannelGroup channels, int maxUnreadOutputBytes);
    }

    private final TransportSettings settings;
    private final String scheme;
    private final String path;
    private final String what;
    private final Initializer initializer;
    private final EventLoops loops;
    private final AtomicInteger open = new AtomicInteger();
    private final ChannelGroup channels;
    private EventLoopGroup boss;
    private EventLoopGroup workers;
    private Channel listener;
    private volatile URI address;
    private boolean closed;

    /**
     * @param scheme the address scheme ({@code tcp}, {@code ws}).
     * @param path   appended to the address ({@code ""} or e.g. {@code /ws}).
     * @param what   a name for messages, e.g. {@code "WebSocket"}.
     */
    public NettyServer(TransportSettings settings, String scheme, String path, String what, Initializer initializer) {
        this.settings = settings;
        this.scheme = scheme;
        this.path = path;
        this.what = what;
        this.initializer = initializer;
        this.loops = new EventLoops(settings);
        this.channels = new DefaultChannelGroup("courier-" + scheme, GlobalEventExecutor.INSTANCE);
    }

    /**
     * @throws ListenException when the address cannot be bound, saying why.
     * @throws IllegalArgumentException when an option is malformed, naming it.
     */
    @Override
    public synchronized void start() {
        if (listener != null || closed) {
            throw new IllegalStateException("A " + what + " server starts once");
        }
        int threads = EventLoops.threads(settings, Runtime.getRuntime().availableProcessors());
        int low = EventLoops.WRITE_BUFFER_LOW.intIn(settings.options());
        int high = EventLoops.WRITE_BUFFER_HIGH.intIn(settings.options());
        if (low > high) {
            throw new IllegalArgumentException("Option 'write-buffer-low' (" + low + ") must not be above 'write-buffer-high' ("
                + high + ")");
        }
        int maxUnreadOutput = TransportOptions.maxUnreadOutputBytes(settings, high);
        boss = loops.group(1, "courier-" + scheme + "-accept");
        workers = loops.group(threads, "courier-" + scheme + "-io");
        ServerBootstrap bootstrap = new ServerBootstrap()
            .group(boss, workers)
            .channel(loops.serverChannel())
            .option(ChannelOption.SO_BACKLOG, 4096)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(low, high))
            // One read of at most READ_BYTES per connection per turn of its event loop: with Netty's
            // default (16 reads of up to 64 KiB), one client streaming small frames had up to 1 MiB
            // (100,000 acknowledgements) decoded and handled before the loop's other connections
            // were read, and they waited seconds behind it.
            .childOption(ChannelOption.RCVBUF_ALLOCATOR,
                new AdaptiveRecvByteBufAllocator(64, 2048, READ_BYTES).maxMessagesPerRead(1))
            .childHandler(initializer.create(open, channels, maxUnreadOutput));
        try {
            listener = bootstrap.bind(settings.host(), settings.port()).syncUninterruptibly().channel();
        } catch (Exception e) {
            // Netty rethrows the bind's IOException unchecked (sneakily), so catch Exception.
            close();
            throw ListenException.of(what, settings.host(), settings.port(), e);
        }
        int port = ((InetSocketAddress) listener.localAddress()).getPort();
        address = URI.create(scheme + "://" + settings.host() + ":" + port + path);
    }

    @Override
    public URI address() {
        URI bound = address;
        if (bound == null) {
            throw new IllegalStateException("The " + what + " server is not started");
        }
        return bound;
    }

    @Override
    public int connectionCount() {
        return open.get();
    }

    /** What the accepted channels' outbound buffers hold, summed; each counter is read as it stands. */
    @Override
    public long unreadOutputBytes() {
        long sum = 0;
        for (Channel channel : channels) {
            sum += UnreadOutputLimit.pendingBytes(channel);
        }
        return sum;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (listener != null) {
            listener.close().syncUninterruptibly();
        }
        channels.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        if (boss != null) {
            boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
        if (workers != null) {
            workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
