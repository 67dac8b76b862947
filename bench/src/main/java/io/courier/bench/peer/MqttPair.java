package io.courier.bench.peer;

import io.courier.bench.load.LoadSink;
import io.courier.bench.load.Pair;
import io.courier.bench.load.Payloads;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttQoS;
import java.util.function.BooleanSupplier;

/**
 * A sender and a receiver session on one MQTT broker, joined by a topic only they use. The sender
 * PUBLISHes each payload as is, at the target's QoS; at QoS 1 its packet id remembers the scheduled
 * send time until the PUBACK. Neither {@link #send} nor {@link #close} blocks.
 */
final class MqttPair implements Pair {

    private final String name;
    private final String topic;
    private final MqttQoS qos;
    private final LoadSink sink;
    private final InFlightPublishes inFlight;
    private final BooleanSupplier targetClosing;
    // Set once, before the pair is handed to the generator (the opening future publishes them).
    private Channel sender;
    private Channel receiver;
    // From bind to close: while live, a dropped connection is a failure the sink hears of.
    private volatile boolean live;
    // A round trip's reply leg, on the same two channels: closing this pair ends it too.
    private volatile MqttPair reply;

    /**
     * @param name          names the pair in failure reasons: the broker's address and the index.
     * @param inFlight      the sender's packet ids; {@code null} at QoS 0, which has none.
     * @param targetClosing whether the whole target is closing, so its closes are not failures.
     */
    MqttPair(String name, String topic, MqttQoS qos, LoadSink sink, InFlightPublishes inFlight,
             BooleanSupplier targetClosing) {
        this.name = name;
        this.topic = topic;
        this.qos = qos;
        this.sink = sink;
        this.inFlight = inFlight;
        this.targetClosing = targetClosing;
    }

    /** Where this pair reports. */
    LoadSink sink() {
        return sink;
    }

    /** The reply leg that shares this pair's channels (a round trip); set before the pair is returned. */
    void reply(MqttPair reply) {
        this.reply = reply;
    }

    /** Binds the two ready sessions; called once, before the pair is returned. */
    MqttPair bind(Channel sender, Channel receiver) {
        this.sender = sender;
        this.receiver = receiver;
        live = true;
        return this;
    }

    @Override
    public void send(byte[] payload) {
        Channel channel = sender;
        if (!channel.isActive()) {
            sink.failed(describe("sender's connection is closed"));
            return;
        }
        int packetId = 0;
        if (inFlight != null) {
            packetId = inFlight.acquire(Payloads.scheduled(payload));
            if (packetId == 0) {
                sink.failed(describe("sender has 65,535 PUBLISHes unacknowledged and no packet id free"));
                return;
            }
        }
        channel.writeAndFlush(MqttMessageBuilders.publish()
            .topicName(topic)
            .qos(qos)
            .retained(false)
            .messageId(packetId)
            .payload(Unpooled.wrappedBuffer(payload))
            .build(), channel.voidPromise());
    }

    /**
     * Whether the pair is in use: opened, and neither it nor its target closing. Only then is a
     * dropped connection a failure; during the handshake the opening future reports it.
     */
    boolean isLive() {
        return live && !targetClosing.getAsBoolean();
    }

    /** A failure reason naming this pair. */
    String describe(String reason) {
        return name + ": " + reason;
    }

    /** Sends DISCONNECT on both sessions and closes them; returns at once. */
    @Override
    public void close() {
        live = false;
        MqttPair leg = reply;
        if (leg != null) {
            // Its handlers would otherwise report the channels closing under them as failures.
            leg.live = false;
        }
        disconnect(sender);
        disconnect(receiver);
    }

    /** A polite MQTT goodbye, so the broker does not log a lost client; returns at once. */
    static void disconnect(Channel channel) {
        if (channel.isActive()) {
            channel.writeAndFlush(MqttMessage.DISCONNECT).addListener(ChannelFutureListener.CLOSE);
        } else {
            channel.close();
        }
    }
}
