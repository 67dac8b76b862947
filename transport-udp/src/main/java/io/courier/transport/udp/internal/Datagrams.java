package io.courier.transport.udp.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * Builds outgoing datagrams: type, connection id, body (the layout is specified in
 * {@code docs/PROTOCOL.md}, section 5.1).
 *
 * <p>Public only so that {@code courier-bench} can measure it (the {@code codec} JMH benchmarks);
 * it is internal all the same.
 */
public final class Datagrams {

    private Datagrams() {
    }

    static DatagramPacket header(Channel channel, byte type, long connectionId, int padTo, InetSocketAddress to) {
        ByteBuf buf = channel.alloc().buffer(Math.max(Wire.HEADER_BYTES, padTo));
        buf.writeByte(type).writeLong(connectionId);
        if (padTo > Wire.HEADER_BYTES) {
            buf.writeZero(padTo - Wire.HEADER_BYTES);
        }
        return new DatagramPacket(buf, to);
    }

    public static DatagramPacket withBody(Channel channel, byte type, long connectionId, ByteBuffer body, InetSocketAddress to) {
        ByteBuf buf = channel.alloc().buffer(Wire.HEADER_BYTES + body.remaining());
        buf.writeByte(type).writeLong(connectionId).writeBytes(body);
        return new DatagramPacket(buf, to);
    }

    static DatagramPacket raw(Channel channel, ByteBuffer bytes, InetSocketAddress to) {
        ByteBuf buf = channel.alloc().buffer(bytes.remaining());
        buf.writeBytes(bytes);
        return new DatagramPacket(buf, to);
    }
}
