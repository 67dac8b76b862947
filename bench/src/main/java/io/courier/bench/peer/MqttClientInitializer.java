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
    private final ChannelHandler role;

    /** @param role the pair's handler for this side, or {@code null} for an idle connection. */
    MqttClientInitializer(ChannelGroup channels, MqttSessionHandler session, ChannelHandler role) {
        this.channels = channels;
        this.session = session;
        this.role = role;
    }

    @Override
    protected void initChannel(Channel channel) {
        // So closing the target reaches every connection.
        channels.add(channel);
        ChannelPipeline pipeline = channel.pipeline();
        pipeline.addLast("mqtt-decoder", new MqttDecoder(MAX_PACKET_BYTES));
        pipeline.addLast("mqtt-encoder", MqttEncoder.INSTANCE);
        pipeline.addLast("session", session);
        if (role != null) {
            pipeline.addLast("role", role);
        }
    }
}
