package io.courier.transport.ws.internal;

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
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/** The WebSocket server: HTTP upgrade on one path, then Courier frames per message. */
public final class WsServer implements TransportServer {

    private final TransportSettings settings;
    private final ConnectionHandler handler;
    private final EventLoops loops;
    private final AtomicInteger open = new AtomicInteger();
    private final ChannelGroup channels = new DefaultChannelGroup("courier-ws", GlobalEventExecutor.INSTANCE);
    private final String path;
    private EventLoopGroup boss;
    private EventLoopGroup workers;
    private Channel listener;
    private volatile URI address;
    private boolean closed;

    public WsServer(TransportSettings settings, ConnectionHandler handler) {
        this.settings = settings;
        this.handler = handler;
        this.loops = new EventLoops(settings);
        this.path = settings.option("path", "/ws");
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("Transport option 'path' must start with '/', was '" + path + "'");
        }
    }

    static Set<String> origins(TransportSettings settings) {
        return Arrays.stream(settings.option("allowed-origins", "*").split(","))
            .map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
    }

    @Override
    public synchronized void start() {
        if (listener != null || closed) {
            throw new IllegalStateException("A WebSocket server starts once");
        }
        int threads = EventLoops.threads(settings, Runtime.getRuntime().availableProcessors());
        boss = loops.group(1, "courier-ws-accept");
        workers = loops.group(threads, "courier-ws-io");
        WsServerInitializer initializer = new WsServerInitializer(path, settings.maxFrameBytes(), origins(settings),
            Boolean.parseBoolean(settings.option("permessage-deflate", "false")), handler, open, channels);
        ServerBootstrap bootstrap = new ServerBootstrap()
            .group(boss, workers)
            .channel(loops.serverChannel())
            .option(ChannelOption.SO_BACKLOG, 4096)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(
                EventLoops.bytesOption(settings, "write-buffer-low", 32 * 1024),
                EventLoops.bytesOption(settings, "write-buffer-high", 64 * 1024)))
            .childHandler(initializer);
        try {
            listener = bootstrap.bind(settings.host(), settings.port()).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            close();
            throw new TransportException("Cannot listen for WebSocket on " + settings.host() + ":" + settings.port()
                + ": " + e.getMessage(), e);
        }
        int port = ((InetSocketAddress) listener.localAddress()).getPort();
        address = URI.create("ws://" + settings.host() + ":" + port + path);
    }

    @Override
    public URI address() {
        URI bound = address;
        if (bound == null) {
            throw new IllegalStateException("The WebSocket server is not started");
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
