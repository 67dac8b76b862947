package io.courier.transport.tcp.internal;

import static io.courier.transport.tcp.internal.FrameDecoderTest.send;
import static io.courier.transport.tcp.internal.FrameDecoderTest.sendOfEncodedSize;
import static org.assertj.core.api.Assertions.assertThat;

import io.courier.transport.TransportException;
import io.courier.transport.proto.Frame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFuture;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** The TCP framing on the way out, in an {@link EmbeddedChannel}. */
class FrameEncoderTest {

    private static final int MAX = 1024;

    private final EmbeddedChannel channel = new EmbeddedChannel(new FrameEncoder(MAX));

    @Test
    void shouldWriteAVarint32LengthThenTheFrame() throws IOException {
        Frame frame = send(300); // a two-byte length prefix
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        frame.writeDelimitedTo(expected); // protobuf's own varint32-delimited format

        channel.writeOutbound(frame);

        ByteBuf written = channel.readOutbound();
        assertThat(ByteBufUtil.getBytes(written)).isEqualTo(expected.toByteArray());
        written.release();
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldWriteAFrameOfExactlyTheMaximum() {
        channel.writeOutbound(sendOfEncodedSize(MAX));

        ByteBuf written = channel.readOutbound();
        assertThat(written.readableBytes()).isEqualTo(2 + MAX);
        written.release();
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldRefuseAFrameAboveTheMaximumAndStayOpen() {
        ChannelFuture write = channel.writeAndFlush(sendOfEncodedSize(MAX + 1));

        assertThat(write.cause()).isInstanceOf(TransportException.class)
            .hasMessageContaining(Integer.toString(MAX + 1)).hasMessageContaining(Integer.toString(MAX));
        assertThat(channel.<ByteBuf>readOutbound()).isNull();
        assertThat(channel.isOpen()).isTrue();
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldDropAnOversizedFrameSentWithAVoidPromiseWithoutClosing() {
        // Connection.send writes with a void promise; failing it would close the connection.
        channel.writeAndFlush(sendOfEncodedSize(MAX + 1), channel.voidPromise());
        channel.checkException();
        assertThat(channel.<ByteBuf>readOutbound()).isNull();

        channel.writeOutbound(send(10));
        ByteBuf next = channel.readOutbound();
        assertThat(next).isNotNull();
        next.release();
        assertThat(channel.isOpen()).isTrue();
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldPassRawBytesThroughUntouched() {
        ByteBuf raw = FrameEncoder.encodeUnchecked(channel.alloc(), new byte[2 * MAX]);

        channel.writeOutbound(raw);

        ByteBuf written = channel.readOutbound();
        assertThat(written).isSameAs(raw);
        assertThat(written.readableBytes()).isEqualTo(2 + 2 * MAX);
        written.release();
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void shouldPrefixUncheckedBytesWithTheirLength() {
        ByteBuf raw = FrameEncoder.encodeUnchecked(channel.alloc(), new byte[] {1, 2, 3});
        assertThat(ByteBufUtil.getBytes(raw)).containsExactly(3, 1, 2, 3);
        raw.release();
    }
}
