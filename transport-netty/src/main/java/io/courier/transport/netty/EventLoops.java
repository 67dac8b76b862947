package io.courier.transport.netty;

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

/**
 * Chooses epoll when the native library loads and the {@code epoll} option allows, NIO otherwise,
 * and reads the thread and buffer options every Netty transport shares.
 */
public final class EventLoops {

    private final boolean epoll;

    public EventLoops(TransportSettings settings) {
        this.epoll = Boolean.parseBoolean(settings.option("epoll", "true")) && Epoll.isAvailable();
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
        String value = settings.option("threads", Integer.toString(fallback));
        try {
            int threads = Integer.parseInt(value);
            if (threads > 0) {
                return threads;
            }
        } catch (NumberFormatException e) {
            // fall through to the error below
        }
        throw new IllegalArgumentException("Transport option 'threads' must be a positive integer, was '" + value + "'");
    }

    /** A positive integer option, or {@code fallback}. */
    public static int bytesOption(TransportSettings settings, String key, int fallback) {
        String value = settings.option(key, Integer.toString(fallback));
        try {
            int bytes = Integer.parseInt(value);
            if (bytes > 0) {
                return bytes;
            }
        } catch (NumberFormatException e) {
            // fall through to the error below
        }
        throw new IllegalArgumentException("Transport option '" + key + "' must be a positive integer, was '" + value + "'");
    }
}
