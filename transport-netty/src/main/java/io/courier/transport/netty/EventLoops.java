package io.courier.transport.netty;

import io.courier.plugin.PluginOption;
import io.courier.transport.TransportOptions;
import io.courier.transport.TransportSettings;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.List;

/**
 * Chooses epoll when the native library loads and the {@code epoll} option allows, NIO otherwise,
 * and reads the thread and buffer options every Netty transport shares (with
 * {@link TransportOptions#MAX_UNREAD_OUTPUT_BYTES}, which {@link NettyServer} checks against
 * {@code write-buffer-high}).
 */
public final class EventLoops {

    /** {@code epoll}: {@code false} forces NIO. */
    public static final PluginOption EPOLL = PluginOption.flag("epoll", true,
        "`false` forces NIO; epoll is used only where its native library loads");
    /** {@code threads}: I/O threads. */
    public static final PluginOption THREADS = PluginOption.positiveInt("threads", "I/O threads; CPU cores on a server");
    /** {@code write-buffer-high}: bytes. */
    public static final PluginOption WRITE_BUFFER_HIGH = PluginOption.positiveInt("write-buffer-high", 64 * 1024,
        "bytes queued on a connection above which it is unwritable and its mailbox waits");
    /** {@code write-buffer-low}: bytes. */
    public static final PluginOption WRITE_BUFFER_LOW = PluginOption.positiveInt("write-buffer-low", 32 * 1024,
        "bytes below which an unwritable connection is writable again");
    /** The options {@link NettyServer} reads, for a provider's {@code options()}. */
    public static final List<PluginOption> SERVER_OPTIONS = List.of(EPOLL, THREADS, WRITE_BUFFER_HIGH, WRITE_BUFFER_LOW,
        TransportOptions.MAX_UNREAD_OUTPUT_BYTES);

    private final boolean epoll;

    /** @throws IllegalArgumentException when {@code epoll} is not {@code true} or {@code false}. */
    public EventLoops(TransportSettings settings) {
        this.epoll = EPOLL.booleanIn(settings.options()) && Epoll.isAvailable();
    }

    public boolean isEpoll() {
        return epoll;
    }

    public EventLoopGroup group(int threads, String name) {
        IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), factory);
    }

    public Class<? extends ServerChannel> serverChannel() {
        return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    public Class<? extends SocketChannel> channel() {
        return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /** The {@code threads} option, or {@code fallback}. */
    public static int threads(TransportSettings settings, int fallback) {
        return THREADS.intIn(settings.options(), fallback);
    }

    /** A positive integer option, or {@code fallback}. */
    public static int bytesOption(TransportSettings settings, String key, int fallback) {
        return PluginOption.positiveInt(key, fallback, key).intIn(settings.options());
    }
}
