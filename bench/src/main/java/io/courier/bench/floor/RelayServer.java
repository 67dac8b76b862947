package io.courier.bench.floor;

import io.courier.transport.TransportSettings;
import io.courier.transport.netty.EventLoops;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The raw TCP relay floor: the least a middle process can do with a message — read bytes from one
 * socket and write them to another — so Courier's latency can be divided by it.
 *
 * <p>Everything runs on one event loop thread (epoll when it loads, as in Courier's transports):
 * both sockets of a pair share it, so forwarding is a direct write with no hand-off between
 * threads, and the pair registry needs no lock. One thread is also what a 2-core box shared with
 * the load generator can give a middle process. Binds loopback only.
 */
final class RelayServer implements FloorServer.Handle {

    private static final Logger LOG = LoggerFactory.getLogger(RelayServer.class);

    private final EventLoopGroup group;
    private final Channel serverChannel;
    private final String address;

    private RelayServer(EventLoopGroup group, Channel serverChannel) {
        this.group = group;
        this.serverChannel = serverChannel;
        this.address = "relay://" + TransportSettings.DEFAULT_HOST + ":"
            + ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /** Binds loopback {@code port} (0 for a free one) and serves until closed. */
    static RelayServer start(int port) {
        EventLoops loops = new EventLoops(new TransportSettings(TransportSettings.DEFAULT_HOST, port,
            TransportSettings.DEFAULT_MAX_FRAME_BYTES, Map.of()));
        EventLoopGroup group = loops.group(1, "floor-relay");
        RelayPairs pairs = new RelayPairs();
        try {
            Channel channel = new ServerBootstrap()
                .group(group)
                .channel(loops.serverChannel())
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast("relay-header", new RelayHeaderDecoder(pairs));
                    }
                })
                .bind(TransportSettings.DEFAULT_HOST, port)
                .syncUninterruptibly()
                .channel();
            LOG.info("Relay floor on {} ({})", channel.localAddress(), loops.isEpoll() ? "epoll" : "NIO");
            return new RelayServer(group, channel);
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw new IllegalStateException("Relay floor could not bind " + TransportSettings.DEFAULT_HOST + ":" + port
                + ": " + e.getMessage() + " (pass another --port, or 0 for a free one)", e);
        }
    }

    @Override
    public String address() {
        return address;
    }

    @Override
    public void close() {
        serverChannel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
