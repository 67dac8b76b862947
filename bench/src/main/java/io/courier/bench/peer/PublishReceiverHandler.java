package io.courier.bench.peer;

import io.courier.bench.load.LoadSink;
import io.courier.bench.load.Payloads;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;

/**
 * The receiving side of a pair: hands each PUBLISH's scheduled send time to the sink and, at QoS 1,
 * answers PUBACK at once, as a chat client acknowledges a delivery (Courier's receiver does the
 * same with {@code DeliveryAck}). Acknowledgements are flushed once per read burst, not per
 * message. The PUBLISH's buffer is released after the handler returns. A receiver dropped under a
 * pair still open is reported once: the broker discards what it would have delivered, unseen.
 */
final class PublishReceiverHandler extends SimpleChannelInboundHandler<MqttPublishMessage> {

    private final MqttPair pair;
    private final LoadSink sink;
    private final MqttPair reply;

    /**
     * @param reply where each payload is published back at once (a round trip's receiver), or
     *              {@code null} to hand its scheduled time to the sink.
     */
    PublishReceiverHandler(MqttPair pair, LoadSink sink, MqttPair reply) {
        super(MqttPublishMessage.class, true);
        this.pair = pair;
        this.sink = sink;
        this.reply = reply;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, MqttPublishMessage publish) {
        ByteBuf content = publish.content();
        if (content.readableBytes() < Payloads.MIN_SIZE) {
            sink.failed(pair.describe("receiver got a " + content.readableBytes() + "-byte payload without a timestamp"));
        } else if (reply != null) {
            byte[] payload = new byte[content.readableBytes()];
            content.getBytes(content.readerIndex(), payload);
            reply.send(payload);
        } else {
            sink.received(Payloads.scheduled(content.nioBuffer()));
        }
        if (publish.fixedHeader().qosLevel() == MqttQoS.AT_LEAST_ONCE) {
            ctx.write(MqttMessageBuilders.pubAck().packetId(publish.variableHeader().packetId()).build(),
                ctx.voidPromise());
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        ctx.flush();
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (pair.isLive()) {
            sink.failed(pair.describe("receiver's connection closed"));
        }
        ctx.fireChannelInactive();
    }
}
