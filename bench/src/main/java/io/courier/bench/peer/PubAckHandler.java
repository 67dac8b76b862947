package io.courier.bench.peer;

import io.courier.bench.load.LoadSink;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.mqtt.MqttPubAckMessage;

/**
 * The sending side of a pair: each PUBACK is the broker taking responsibility for a QoS 1 PUBLISH,
 * reported to the sink as accepted at the scheduled time its packet id carried. When the
 * connection drops under a pair still open, every PUBLISH left unacknowledged counts as failed (and
 * every later send, in {@link MqttPair#send}).
 */
final class PubAckHandler extends SimpleChannelInboundHandler<MqttPubAckMessage> {

    private final MqttPair pair;
    private final LoadSink sink;
    private final InFlightPublishes inFlight;

    PubAckHandler(MqttPair pair, LoadSink sink, InFlightPublishes inFlight) {
        this.pair = pair;
        this.sink = sink;
        this.inFlight = inFlight;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, MqttPubAckMessage pubAck) {
        int packetId = pubAck.variableHeader().messageId();
        long scheduled = inFlight.release(packetId);
        if (InFlightPublishes.isUnknown(scheduled)) {
            sink.failed(pair.describe("sender got a PUBACK for packet " + packetId + ", which was not in flight"));
        } else {
            sink.accepted(scheduled);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (pair.isLive()) {
            String reason = pair.describe("sender's connection closed with the PUBLISH unacknowledged");
            for (int i = inFlight.inFlight(); i > 0; i--) {
                sink.failed(reason);
            }
        }
        ctx.fireChannelInactive();
    }
}
