package io.courier.transport.tcp.internal;

import io.courier.transport.ConnectionHandler;
import io.courier.transport.TransportException;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.netty.EventLoops;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The TCP server: one acceptor thread, a group of I/O threads, every channel tracked for close. */
public final class TcpServer implements TransportServer {

    private static final Logger LOG = LoggerFactory.getLogger(TcpServer.class);

    private final TransportSettings settings;
    private final ConnectionHandler handler;
    private final EventLoops loops;
    private final AtomicInteger open = new AtomicInteger();
    private final ChannelGroup channels = new DefaultChannelGroup("courier-tcp", GlobalEventExecutor.INSTANCE);
    private EventLoopGroup boss;
    private EventLoopGroup workers;
    private Channel listener;
    private volatile URI address;
    private boolean closed;

    public TcpServer(TransportSettings settings, ConnectionHandler handler) {
        this.settings = settings;
        this.handler = handler;
        this.loops = new EventLoops(settings);
    }

    @Override
    public synchronized void start() {
        if (listener != null || closed) {
            throw new IllegalStateException("A TCP server starts once");
        }
        int threads = EventLoops.threads(settings, Runtime.getRuntime().availableProcessors());
        WriteBufferWaterMark marks = new WriteBufferWaterMark(
            EventLoops.bytesOption(settings, "write-buffer-low", 32 * 1024),
            EventLoops.bytesOption(settings, "write-buffer-high", 64 * 1024));
        boss = loops.group(1, "courier-tcp-accept");
        workers = loops.group(threads, "courier-tcp-io");
        TcpServerInitializer initializer = new TcpServerInitializer(settings.maxFrameBytes(), handler, open, channels);
        ServerBootstrap bootstrap = new ServerBootstrap()
            .group(boss, workers)
            .channel(loops.serverChannel())
            .option(ChannelOption.SO_BACKLOG, 4096)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, marks)
            .childHandler(initializer);
        try {
            listener = bootstrap.bind(settings.host(), settings.port()).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            close();
            throw new TransportException("Cannot listen for TCP on " + settings.host() + ":" + settings.port() + ": "
                + e.getMessage(), e);
        }
        InetSocketAddress bound = (InetSocketAddress) listener.localAddress();
        address = URI.create("tcp://" + settings.host() + ":" + bound.getPort());
        LOG.debug("TCP listening on {} with {} ({} I/O threads)", address, loops.isEpoll() ? "epoll" : "NIO", threads);
    }

    @Override
    public URI address() {
        URI bound = address;
        if (bound == null) {
            throw new IllegalStateException("The TCP server is not started");
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
