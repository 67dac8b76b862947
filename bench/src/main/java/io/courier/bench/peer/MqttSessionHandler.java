package io.courier.bench.peer;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttSubAckMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One MQTT 3.1.1 client session's life apart from its messages: CONNECT and CONNACK, for a receiver
 * the SUBSCRIBE and its SUBACK, a PINGREQ every keep-alive period, and the deadline for all of it.
 * {@link #ready()} completes once the broker has accepted the session (and granted the
 * subscription at the requested QoS), or fails with a message naming the broker's address.
 *
 * <p>After that, PUBLISH and PUBACK go on up the pipeline to the sender's or the receiver's handler;
 * PINGRESP stops here. The keep-alive ping is sent on a fixed period rather than after a period of
 * silence: two bytes a minute on a busy connection cost less than tracking every write.
 */
final class MqttSessionHandler extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(MqttSessionHandler.class);
    /** The SUBSCRIBE is the only packet id the session itself uses, before any PUBLISH. */
    private static final int SUBSCRIBE_PACKET_ID = 1;

    private final String address;
    private final String clientId;
    private final int keepAliveSeconds;
    private final int timeoutMs;
    private final String topic;
    private final MqttQoS qos;
    private final CompletableFuture<Channel> ready = new CompletableFuture<>();
    private ScheduledFuture<?> deadline;
    private ScheduledFuture<?> keepAlive;
    private boolean connAcked;

    /**
     * @param address          the broker's address, for messages.
     * @param topic            the topic to subscribe to at {@code qos} once connected, or
     *                         {@code null} for a session that only connects.
     */
    MqttSessionHandler(String address, String clientId, int keepAliveSeconds, int timeoutMs,
                       String topic, MqttQoS qos) {
        this.address = address;
        this.clientId = clientId;
        this.keepAliveSeconds = keepAliveSeconds;
        this.timeoutMs = timeoutMs;
        this.topic = topic;
        this.qos = qos;
    }

    /** Completes with the channel once the session is usable; completes on the event loop. */
    CompletableFuture<Channel> ready() {
        return ready;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        deadline = ctx.executor().schedule(() -> fail(ctx, "no CONNACK" + (topic == null ? "" : " and SUBACK")
            + " within " + timeoutMs + " ms"), timeoutMs, TimeUnit.MILLISECONDS);
        ctx.writeAndFlush(MqttMessageBuilders.connect()
            .protocolVersion(MqttVersion.MQTT_3_1_1)
            .clientId(clientId)
            .cleanSession(true)
            .keepAlive(keepAliveSeconds)
            .build(), ctx.voidPromise());
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        MqttMessage message = (MqttMessage) msg;
        if (message.decoderResult().isFailure()) {
            ReferenceCountUtil.release(msg);
            violation(ctx, "sent a malformed packet (" + message.decoderResult().cause() + ")");
            return;
        }
        MqttMessageType type = message.fixedHeader().messageType();
        switch (type) {
            case CONNACK -> onConnAck(ctx, (MqttConnAckMessage) message);
            case SUBACK -> onSubAck(ctx, (MqttSubAckMessage) message);
            case PINGRESP -> { }
            case PUBLISH, PUBACK -> {
                if (ready.isDone()) {
                    ctx.fireChannelRead(msg);
                } else {
                    ReferenceCountUtil.release(msg);
                    violation(ctx, "sent " + type + " before the session was ready");
                }
            }
            default -> {
                ReferenceCountUtil.release(msg);
                violation(ctx, "sent " + type + ", which a QoS " + qos.value() + " client never asks for");
            }
        }
    }

    private void onConnAck(ChannelHandlerContext ctx, MqttConnAckMessage connAck) {
        MqttConnectReturnCode code = connAck.variableHeader().connectReturnCode();
        if (code != MqttConnectReturnCode.CONNECTION_ACCEPTED) {
            fail(ctx, "refused the connection: CONNACK " + code);
            return;
        }
        connAcked = true;
        keepAlive = ctx.executor().scheduleAtFixedRate(
            () -> ctx.writeAndFlush(MqttMessage.PINGREQ, ctx.voidPromise()),
            keepAliveSeconds, keepAliveSeconds, TimeUnit.SECONDS);
        if (topic == null) {
            succeed(ctx);
        } else {
            ctx.writeAndFlush(MqttMessageBuilders.subscribe()
                .messageId(SUBSCRIBE_PACKET_ID)
                .addSubscription(qos, topic)
                .build(), ctx.voidPromise());
        }
    }

    private void onSubAck(ChannelHandlerContext ctx, MqttSubAckMessage subAck) {
        List<Integer> granted = subAck.payload().grantedQoSLevels();
        if (topic == null || ready.isDone() || subAck.variableHeader().messageId() != SUBSCRIBE_PACKET_ID) {
            violation(ctx, "sent a SUBACK for packet " + subAck.variableHeader().messageId() + " it was not asked for");
        } else if (granted.size() != 1 || granted.get(0) != qos.value()) {
            // 0x80 is the broker's refusal; a lower QoS would silently change what is measured.
            fail(ctx, "granted QoS " + granted + " for '" + topic + "' where " + qos.value()
                + " was asked (128 means refused)");
        } else {
            succeed(ctx);
        }
    }

    private void succeed(ChannelHandlerContext ctx) {
        deadline.cancel(false);
        ready.complete(ctx.channel());
    }

    /** Fails the handshake (if still pending) and closes. */
    private void fail(ChannelHandlerContext ctx, String reason) {
        if (!ready.isDone()) {
            ready.completeExceptionally(new IllegalStateException(describe(reason)));
        }
        ctx.close();
    }

    /** Counts as a handshake failure before ready; afterwards, logged, and the close reaches the pair. */
    private void violation(ChannelHandlerContext ctx, String reason) {
        if (ready.isDone()) {
            LOG.warn("{}; closing", describe(reason));
        }
        fail(ctx, reason);
    }

    private String describe(String reason) {
        return "MQTT broker " + address + " (client " + clientId + ") " + reason;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof Error error) {
            throw error;
        }
        if (ready.isDone()) {
            LOG.warn("{}; closing", describe("connection failed"), cause);
        }
        fail(ctx, "connection failed: " + cause);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (deadline != null) {
            deadline.cancel(false);
        }
        if (keepAlive != null) {
            keepAlive.cancel(false);
        }
        if (!ready.isDone()) {
            ready.completeExceptionally(new IllegalStateException(
                describe("closed the connection before " + (connAcked ? "SUBACK" : "CONNACK"))));
        }
        ctx.fireChannelInactive();
    }
}
