package io.courier.bench.floor;

import io.courier.bench.load.LoadSink;
import io.courier.bench.load.Pair;
import io.courier.bench.load.Target;
import io.courier.bench.load.Targets;
import io.courier.transport.TransportSettings;
import io.courier.transport.netty.EventLoops;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The raw TCP relay floor ({@link RelayServer}) as the load generator drives it: a pair is two
 * sockets to the relay, each announcing its role and pair index ({@link RelayProtocol}); the pair
 * is ready when the relay answers both. The sender writes each payload behind a 4-byte length;
 * the receiver cuts frames with {@link LengthFieldBasedFrameDecoder} and reads the timestamp.
 * There is no acknowledgement, so {@link LoadSink#accepted} is never called. With {@code rtt=true}
 * the receiver writes each frame straight back and the sender reads it: the round trip through the
 * relay, both ways.
 *
 * <p>Options: {@code epoll=false} (NIO instead of epoll), {@code max-frame-bytes} (largest payload a
 * receiver accepts, 1 MiB by default). All sockets share one client event loop thread.
 */
public final class RawRelayTarget implements Target {

    /** Largest payload the receiver accepts unless {@code max-frame-bytes} says otherwise. */
    public static final int DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

    private final String address;
    private final String host;
    private final int port;
    private final int maxFrameBytes;
    private final boolean roundTrip;
    private final EventLoopGroup group;
    private final Bootstrap bootstrap;

    private RawRelayTarget(String address, URI uri, int maxFrameBytes, boolean roundTrip, EventLoops loops) {
        this.address = address;
        this.roundTrip = roundTrip;
        this.host = uri.getHost();
        this.port = uri.getPort();
        this.maxFrameBytes = maxFrameBytes;
        this.group = loops.group(1, "floor-relay-client");
        this.bootstrap = new Bootstrap()
            .group(group)
            .channel(loops.channel())
            .option(ChannelOption.TCP_NODELAY, true);
    }

    /**
     * Opens the target; connects nothing yet.
     *
     * @param address {@code relay://host:port}, as {@link FloorServer} prints it.
     * @throws IllegalArgumentException if the address has no host or port, or an option is invalid.
     */
    public static RawRelayTarget open(String address, Map<String, String> options) {
        URI uri = URI.create(address);
        if (!"relay".equals(uri.getScheme()) || uri.getHost() == null || uri.getPort() < 0) {
            throw new IllegalArgumentException("Relay floor address must be relay://host:port, was '" + address + "'");
        }
        TransportSettings settings = new TransportSettings(TransportSettings.DEFAULT_HOST, 0,
            TransportSettings.DEFAULT_MAX_FRAME_BYTES, options);
        int maxFrameBytes = EventLoops.bytesOption(settings, "max-frame-bytes", DEFAULT_MAX_FRAME_BYTES);
        return new RawRelayTarget(address, uri, maxFrameBytes, Targets.roundTrip(options), new EventLoops(settings));
    }

    @Override
    public CompletableFuture<Pair> openPair(int index, LoadSink sink) {
        Joining receiver = connect(RelayProtocol.RECEIVER, index, frames(), new RelayReceiveHandler(index, sink, roundTrip));
        // In a round trip the sender reads the receiver's answers; otherwise nothing comes back.
        Joining sender = roundTrip
            ? connect(RelayProtocol.SENDER, index, frames(), new RelayReceiveHandler(index, sink, false))
            : connect(RelayProtocol.SENDER, index, new RelaySenderHandler(index, sink));
        return receiver.joined.thenCombine(sender.joined, (r, s) -> (Pair) new RelayPair(index, s, r, sink))
            .whenComplete((pair, failure) -> {
                // The relay holds a half pair until its partner arrives: one failed side must not
                // leave the other waiting forever.
                if (failure != null) {
                    receiver.channel.close();
                    sender.channel.close();
                }
            });
    }

    private LengthFieldBasedFrameDecoder frames() {
        return new LengthFieldBasedFrameDecoder(maxFrameBytes + RelayProtocol.LENGTH_BYTES, 0,
            RelayProtocol.LENGTH_BYTES, 0, RelayProtocol.LENGTH_BYTES);
    }

    @Override
    public CompletableFuture<AutoCloseable> openIdle(int index) {
        Joining idle = connect(RelayProtocol.IDLE, index);
        return idle.joined.thenApply(channel -> channel::close);
    }

    /** A socket on its way to being joined: the channel exists at once, the future completes on join. */
    private record Joining(Channel channel, CompletableFuture<Channel> joined) {
    }

    private Joining connect(byte role, int index, ChannelHandler... after) {
        CompletableFuture<Channel> joined = new CompletableFuture<>();
        ChannelFuture connect = bootstrap.clone()
            .handler(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    ch.pipeline().addLast("relay-join", new RelayJoinDecoder(address, role, index, joined));
                    ch.pipeline().addLast(after);
                }
            })
            .connect(host, port);
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                joined.completeExceptionally(new IllegalStateException("Could not connect to relay floor " + address
                    + " (pair " + index + ", " + RelayProtocol.roleName(role) + "): " + f.cause(), f.cause()));
            }
        });
        return new Joining(connect.channel(), joined);
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** A joined pair: sends go to the sender's socket as length-prefixed frames. */
    private static final class RelayPair implements Pair {

        private final int index;
        private final Channel sender;
        private final Channel receiver;
        private final LoadSink sink;

        RelayPair(int index, Channel sender, Channel receiver, LoadSink sink) {
            this.index = index;
            this.sender = sender;
            this.receiver = receiver;
            this.sink = sink;
        }

        @Override
        public void send(byte[] payload) {
            if (!sender.isActive()) {
                sink.failed("relay sender of pair " + index + " is closed");
                return;
            }
            ByteBuf frame = sender.alloc().buffer(RelayProtocol.LENGTH_BYTES + payload.length);
            frame.writeInt(payload.length).writeBytes(payload);
            // Hands over to the event loop and returns: queueing shows up as latency, not as a block here.
            sender.writeAndFlush(frame, sender.voidPromise());
        }

        @Override
        public void close() {
            sender.close();
            receiver.close();
        }
    }
}
