package io.courier.bench.floor;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RelayHandlersTest {

    private final RelayPairs pairs = new RelayPairs();

    @Test
    void shouldJoinAPairThenForwardTheSendersBuffersUnchanged() {
        EmbeddedChannel sender = relayConnection();
        EmbeddedChannel receiver = relayConnection();

        sender.writeInbound(header(RelayProtocol.SENDER, 5));
        assertThat((Object) sender.readOutbound()).as("no answer while alone").isNull();
        receiver.writeInbound(header(RelayProtocol.RECEIVER, 5));
        assertJoined(sender);
        assertJoined(receiver);

        ByteBuf message = Unpooled.copiedBuffer("opaque bytes", StandardCharsets.US_ASCII);
        sender.writeInbound(message);
        ByteBuf forwarded = receiver.readOutbound();
        assertThat(forwarded).as("the same buffer, not a copy").isSameAs(message);
        assertThat(forwarded.toString(StandardCharsets.US_ASCII)).isEqualTo("opaque bytes");
        forwarded.release();

        sender.close();
        assertThat(receiver.isOpen()).as("the receiver closes with its sender").isFalse();
    }

    @Test
    void shouldAnswerAnIdleConnectionAtOnce() {
        EmbeddedChannel idle = relayConnection();
        idle.writeInbound(header(RelayProtocol.IDLE, 1));
        assertJoined(idle);
        assertThat(idle.isOpen()).isTrue();
        idle.close();
    }

    @Test
    void shouldCloseAConnectionThatNamesAnUnknownRole() {
        EmbeddedChannel stranger = relayConnection();
        stranger.writeInbound(header((byte) 9, 1));
        assertThat(stranger.isOpen()).isFalse();
        assertThat((Object) stranger.readOutbound()).isNull();
    }

    @Test
    void shouldCloseASenderThatWritesBeforeItsPairIsJoined() {
        EmbeddedChannel eager = relayConnection();
        ByteBuf headerAndMore = header(RelayProtocol.SENDER, 3).writeBytes(new byte[] {1, 2, 3});
        eager.writeInbound(headerAndMore);
        assertThat(eager.isOpen()).isFalse();

        // The index is free again: a new pair can form on it.
        EmbeddedChannel sender = relayConnection();
        EmbeddedChannel receiver = relayConnection();
        sender.writeInbound(header(RelayProtocol.SENDER, 3));
        receiver.writeInbound(header(RelayProtocol.RECEIVER, 3));
        assertJoined(sender);
        assertJoined(receiver);
        sender.close();
    }

    @Test
    void shouldRefuseASecondSenderForTheSamePair() {
        EmbeddedChannel first = relayConnection();
        EmbeddedChannel second = relayConnection();
        first.writeInbound(header(RelayProtocol.SENDER, 4));
        second.writeInbound(header(RelayProtocol.SENDER, 4));
        assertThat(second.isOpen()).isFalse();
        assertThat(first.isOpen()).isTrue();
        first.close();
    }

    @Test
    void shouldForwardAReceiversAnswerBackToItsSender() {
        EmbeddedChannel sender = relayConnection();
        EmbeddedChannel receiver = relayConnection();
        sender.writeInbound(header(RelayProtocol.SENDER, 6));
        receiver.writeInbound(header(RelayProtocol.RECEIVER, 6));
        assertJoined(sender);
        assertJoined(receiver);

        ByteBuf answer = Unpooled.copiedBuffer("reply", StandardCharsets.US_ASCII);
        receiver.writeInbound(answer);
        ByteBuf back = sender.readOutbound();
        assertThat(back).as("the same buffer, not a copy").isSameAs(answer);
        back.release();
        assertThat(receiver.isOpen()).isTrue();

        receiver.close();
        assertThat(sender.isOpen()).as("the sender closes with its receiver").isFalse();
    }

    @Test
    void shouldWriteEachFrameBackAsARoundTripsReceiver() {
        CountingSink sink = new CountingSink(1);
        EmbeddedChannel receiver = new EmbeddedChannel(new LengthFieldBasedFrameDecoder(1024, 0, 4, 0, 4),
            new RelayReceiveHandler(3, sink, true));
        receiver.writeInbound(Unpooled.buffer().writeInt(10).writeLong(123_456_789L).writeShort(7));
        ByteBuf answer = receiver.readOutbound();
        assertThat(answer.readInt()).isEqualTo(10);
        assertThat(answer.readLong()).as("the scheduled time goes back as it came").isEqualTo(123_456_789L);
        assertThat(answer.readShort()).isEqualTo((short) 7);
        assertThat(answer.readableBytes()).isZero();
        answer.release();
        assertThat(sink.receipts.get()).as("the sender, not the replying receiver, tells the sink").isZero();
        assertThat(sink.failures).isEmpty();
        assertThat(receiver.finishAndReleaseAll()).isFalse();
    }

    private EmbeddedChannel relayConnection() {
        return new EmbeddedChannel(new RelayHeaderDecoder(pairs));
    }

    private static ByteBuf header(byte role, int index) {
        return Unpooled.buffer().writeByte(role).writeInt(index);
    }

    private static void assertJoined(EmbeddedChannel channel) {
        ByteBuf answer = channel.readOutbound();
        assertThat(answer).isNotNull();
        assertThat(answer.readableBytes()).isEqualTo(1);
        assertThat(answer.readByte()).isEqualTo(RelayProtocol.JOINED);
        answer.release();
    }
}
