package io.courier.bench.peer;

import io.courier.bench.load.LoadSink;
import io.courier.bench.load.Pair;
import io.courier.bench.load.Target;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * An MQTT 3.1.1 broker (mosquitto, see {@link Mosquitto}) as the peer Courier is measured against,
 * driven the way {@code CourierTarget} drives Courier: a pair is a sender and a receiver session
 * joined by a topic of their own, {@code courier-bench/<user-prefix>/<index>}. At QoS 1 (the
 * default) the broker's PUBACK to the sender is the accepted tick, as Courier's {@code Accepted},
 * and the receiver acknowledges every delivery with PUBACK at once, as Courier's receiver sends
 * {@code DeliveryAck}; so both systems carry the same acknowledgements both ways.
 *
 * <p>Client ids are {@code <user-prefix>-s<index>}, {@code -r<index>} and {@code -idle<index>},
 * every session clean. With {@code rtt=true} the receiver republishes each payload at once on
 * {@code <topic>/reply}, to which the sender subscribes, at the same QoS: both legs carry
 * PUBLISH and PUBACK, and the sink hears of the reply's arrival. All connections share one event loop group (epoll when available) and set
 * TCP_NODELAY. Options: see {@link MqttTargetOptions}.
 */
public final class MqttTarget implements Target {

    private final String address;
    private final String host;
    private final int port;
    private final MqttTargetOptions options;
    private final SocketTransport transport;
    private final EventLoopGroup group;
    private final Bootstrap bootstrap;
    private final ChannelGroup channels = new DefaultChannelGroup("courier-bench-mqtt", GlobalEventExecutor.INSTANCE);
    private volatile boolean closing;

    private MqttTarget(URI uri, MqttTargetOptions options) {
        this.address = uri.toString();
        this.host = uri.getHost();
        this.port = uri.getPort();
        this.options = options;
        this.transport = SocketTransport.choose(options.epoll());
        this.group = new MultiThreadIoEventLoopGroup(options.threads(),
            new DefaultThreadFactory("courier-bench-mqtt", true), transport.ioHandlerFactory());
        this.bootstrap = new Bootstrap()
            .group(group)
            .channel(transport.channelType())
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, options.connectTimeoutMs());
    }

    /**
     * Starts the client threads; connects nothing yet.
     *
     * @param address {@code mqtt://host:port}.
     * @param options see {@link MqttTargetOptions}.
     * @throws IllegalArgumentException when the address is not {@code mqtt://host:port} or an option
     *     is malformed, naming it.
     */
    public static MqttTarget open(String address, Map<String, String> options) {
        URI uri;
        try {
            uri = URI.create(address);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Not an MQTT address: '" + address + "' (expected mqtt://host:port)", e);
        }
        if (!"mqtt".equals(uri.getScheme()) || uri.getHost() == null || uri.getPort() < 1) {
            throw new IllegalArgumentException("Not an MQTT address: '" + address + "' (expected mqtt://host:port)");
        }
        return new MqttTarget(uri, MqttTargetOptions.parse(options));
    }

    /**
     * Connects the receiver (CONNECT, CONNACK, SUBSCRIBE at the target's QoS, SUBACK granting it)
     * and the sender (CONNECT, CONNACK) side by side. Never blocks. Fails with a message naming the
     * broker's address when either is refused, closed or late; the other is then closed.
     */
    @Override
    public CompletableFuture<Pair> openPair(int index, LoadSink sink) {
        if (closing) {
            return CompletableFuture.failedFuture(new IllegalStateException("MQTT target " + address + " is closed"));
        }
        String prefix = options.userPrefix();
        MqttQoS qos = options.qos();
        InFlightPublishes inFlight = qos == MqttQoS.AT_LEAST_ONCE ? new InFlightPublishes() : null;
        MqttPair pair = new MqttPair("MQTT pair " + index + " on " + address, topic(index), qos, sink, inFlight,
            () -> closing);
        // In a round trip B replies on A's topic, at the same QoS, with packet ids of its own; the
        // reply's PUBACK is not a tick the sink counts (accepted is the first leg's).
        InFlightPublishes replies = options.roundTrip() && qos == MqttQoS.AT_LEAST_ONCE ? new InFlightPublishes() : null;
        MqttPair reply = options.roundTrip() ? new MqttPair("MQTT reply " + index + " on " + address, replyTopic(index),
            qos, new RepliesSink(sink), replies, () -> closing) : null;
        CompletableFuture<Channel> receiver = connect(prefix + "-r" + index, topic(index),
            replies == null ? null : new PubAckHandler(reply, reply.sink(), replies),
            new PublishReceiverHandler(pair, sink, reply));
        CompletableFuture<Channel> sender = connect(prefix + "-s" + index, reply == null ? null : replyTopic(index),
            inFlight == null ? null : new PubAckHandler(pair, sink, inFlight),
            reply == null ? null : new PublishReceiverHandler(reply, sink, null));
        CompletableFuture<Pair> opened = receiver.thenCombine(sender, (r, s) -> {
            if (reply != null) {
                reply.bind(r, s);
                pair.reply(reply);
            }
            return pair.bind(s, r);
        });
        opened.whenComplete((ok, failure) -> {
            if (failure != null) {
                receiver.thenAccept(Channel::close);
                sender.thenAccept(Channel::close);
            }
        });
        return opened;
    }

    /** Connects one session (CONNECT, CONNACK) and leaves it idle but for its keep-alive pings. */
    @Override
    public CompletableFuture<AutoCloseable> openIdle(int index) {
        if (closing) {
            return CompletableFuture.failedFuture(new IllegalStateException("MQTT target " + address + " is closed"));
        }
        return connect(options.userPrefix() + "-idle" + index, null, null, null).thenApply(IdleConnection::new);
    }

    /** {@code epoll} or {@code nio}: what the connections run on, for the run's report. */
    public String transport() {
        return transport.name();
    }

    /** The pair's topic: one level per part, so prefixes never overlap. */
    String topic(int index) {
        return "courier-bench/" + options.userPrefix() + "/" + index;
    }

    /** Where pair {@code index}'s receiver replies in a round trip, and its sender listens. */
    String replyTopic(int index) {
        return topic(index) + "/reply";
    }

    /**
     * Connects one session; {@code acks} and {@code publishes} are its role's handlers, either
     * {@code null}.
     */
    private CompletableFuture<Channel> connect(String clientId, String topic, ChannelHandler acks,
                                               ChannelHandler publishes) {
        MqttSessionHandler session = new MqttSessionHandler(address, clientId, options.keepAliveSeconds(),
            options.connectTimeoutMs(), topic, options.qos());
        ChannelFuture connecting = bootstrap.clone()
            .handler(new MqttClientInitializer(channels, session, acks, publishes))
            .connect(host, port);
        connecting.addListener(done -> {
            if (!done.isSuccess()) {
                session.ready().completeExceptionally(new IllegalStateException(
                    "Cannot connect to MQTT broker " + address + " (client " + clientId + "): " + done.cause().getMessage(),
                    done.cause()));
            }
        });
        return session.ready();
    }

    /**
     * Disconnects every session (so none of it counts as a failure) and stops the threads. Blocks
     * for at most a few seconds.
     */
    @Override
    public void close() {
        closing = true;
        channels.forEach(MqttPair::disconnect);
        channels.newCloseFuture().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** The sink a reply leg reports to: failures count, the reply's PUBACK is no tick. */
    static final class RepliesSink implements LoadSink {
        private final LoadSink sink;

        RepliesSink(LoadSink sink) {
            this.sink = sink;
        }

        @Override
        public void accepted(long scheduledNanos) {
            // The round trip's accepted tick is the first leg's.
        }

        @Override
        public void received(long scheduledNanos) {
            sink.received(scheduledNanos);
        }

        @Override
        public void failed(String reason) {
            sink.failed(reason);
        }
    }

    /** An idle session; closing it disconnects. */
    static final class IdleConnection implements AutoCloseable {
        private final Channel channel;

        IdleConnection(Channel channel) {
            this.channel = channel;
        }

        /** Whether the broker still holds the connection. */
        boolean isOpen() {
            return channel.isActive();
        }

        @Override
        public void close() {
            MqttPair.disconnect(channel);
        }
    }
}
