package io.courier.bench.peer;

import io.courier.transport.TransportSettings;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;

/**
 * One MQTT client connection's pipeline, top to bottom: bytes to packets and back, the session
 * (handshake, keep-alive), then the pair's role, if any: the sender's PUBACKs or the receiver's
 * PUBLISHes. An idle connection stops at the session.
 */
final class MqttClientInitializer extends ChannelInitializer<Channel> {

    /**
     * Courier's default frame limit: the benchmark sends no payload Courier would refuse, and a
     * larger packet from the broker is a malformed one.
     */
    static final int MAX_PACKET_BYTES = TransportSettings.DEFAULT_MAX_FRAME_BYTES;

    private final ChannelGroup channels;
    private final MqttSessionHandler session;
    private final ChannelHandler acks;
    private final ChannelHandler publishes;

    /**
     * @param acks      the side's PUBACK handler, or {@code null} (a receiver that never publishes, QoS 0, idle).
     * @param publishes the side's PUBLISH handler, or {@code null} (a sender that gets no replies, idle).
     */
    MqttClientInitializer(ChannelGroup channels, MqttSessionHandler session, ChannelHandler acks,
                          ChannelHandler publishes) {
        this.channels = channels;
        this.session = session;
        this.acks = acks;
        this.publishes = publishes;
    }

    @Override
    protected void initChannel(Channel channel) {
        // So closing the target reaches every connection.
        channels.add(channel);
        ChannelPipeline pipeline = channel.pipeline();
        pipeline.addLast("mqtt-decoder", new MqttDecoder(MAX_PACKET_BYTES));
        pipeline.addLast("mqtt-encoder", MqttEncoder.INSTANCE);
        pipeline.addLast("session", session);
        if (acks != null) {
            pipeline.addLast("acks", acks);
        }
        if (publishes != null) {
            pipeline.addLast("publishes", publishes);
        }
    }
}
