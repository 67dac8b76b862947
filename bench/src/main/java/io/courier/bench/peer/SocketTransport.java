package io.courier.bench.peer;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

/**
 * The client socket flavour: epoll when its native library loads, NIO otherwise, as Courier's
 * {@code EventLoops} chooses. The bench module has the epoll classes at run time only (the build
 * declares them {@code runtime}), so they are looked up by name; a missing or unloadable epoll is
 * simply NIO.
 *
 * @param name the flavour, for logs and reports: {@code epoll} or {@code nio}.
 */
record SocketTransport(String name, IoHandlerFactory ioHandlerFactory, Class<? extends SocketChannel> channelType) {

    private static final String EPOLL = "io.netty.channel.epoll.";

    /** Epoll when {@code preferEpoll} and available, else NIO. */
    static SocketTransport choose(boolean preferEpoll) {
        if (preferEpoll) {
            try {
                Class<?> epoll = Class.forName(EPOLL + "Epoll");
                if ((Boolean) epoll.getMethod("isAvailable").invoke(null)) {
                    IoHandlerFactory factory = (IoHandlerFactory) Class.forName(EPOLL + "EpollIoHandler")
                        .getMethod("newFactory").invoke(null);
                    Class<? extends SocketChannel> channel =
                        Class.forName(EPOLL + "EpollSocketChannel").asSubclass(SocketChannel.class);
                    return new SocketTransport("epoll", factory, channel);
                }
            } catch (ReflectiveOperationException | LinkageError e) {
                // Not on the class path, or not loadable on this platform: NIO serves.
            }
        }
        return new SocketTransport("nio", NioIoHandler.newFactory(), NioSocketChannel.class);
    }
}
