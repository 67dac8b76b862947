package io.courier.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.transport.proto.Error;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The limit holds what waits for a peer that does not read to the limit, the write that passed it
 * and the closing writes: frames that arrive after it tripped (queued from other threads) are
 * dropped and released, not buffered until the connection closes.
 */
class UnreadOutputLimitTest {

    @Test
    void shouldLetTheErrorThroughAndDropEveryWriteAfterItTripped() {
        // What one 60-byte write counts for in an outbound buffer (Netty adds a per-entry overhead):
        // the limit lets one through and trips on the second.
        EmbeddedChannel probe = new EmbeddedChannel();
        probe.write(Unpooled.wrappedBuffer(new byte[60]));
        long entry = UnreadOutputLimit.pendingBytes(probe);
        probe.finishAndReleaseAll();
        long limit = entry + entry / 2;

        List<ProtocolViolation> events = new ArrayList<>();
        ByteBuf error = Unpooled.wrappedBuffer(new byte[] {9, 9, 9});
        EmbeddedChannel channel = new EmbeddedChannel(new UnreadOutputLimit("tcp", limit), new ChannelDuplexHandler() {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                // What ConnectionBridge does: the error is written at once, from within the event.
                events.add((ProtocolViolation) event);
                ctx.channel().write(error, ctx.newPromise());
            }
        });

        ByteBuf first = Unpooled.wrappedBuffer(new byte[60]);
        ByteBuf passing = Unpooled.wrappedBuffer(new byte[60]);
        ByteBuf late = Unpooled.wrappedBuffer(new byte[60]);
        ByteBuf later = Unpooled.wrappedBuffer(new byte[60]);
        // Frames come with the void promise (ChannelConnection.send); the closing writes with their own.
        channel.write(first, channel.voidPromise());
        assertThat(events).isEmpty();
        channel.write(passing, channel.voidPromise());
        assertThat(events).singleElement().satisfies(event -> {
            assertThat(event.code()).isEqualTo(Error.Code.SLOW_CONSUMER);
            assertThat(event.detail()).contains(Long.toString(2 * entry)).contains(Long.toString(limit));
        });
        long afterTheError = UnreadOutputLimit.pendingBytes(channel);
        assertThat(afterTheError).as("the two writes and the error").isGreaterThan(2 * entry);

        channel.write(late, channel.voidPromise());
        channel.write(later, channel.voidPromise());
        assertThat(late.refCnt()).as("dropped and released").isZero();
        assertThat(later.refCnt()).isZero();
        assertThat(UnreadOutputLimit.pendingBytes(channel)).as("nothing more waits").isEqualTo(afterTheError);
        ByteBuf close = Unpooled.wrappedBuffer(new byte[] {8, 8});
        channel.write(close, channel.newPromise());
        assertThat(close.refCnt()).as("a closing write goes out").isOne();
        assertThat(events).as("fires once").hasSize(1);

        channel.flush();
        List<ByteBuf> sent = new ArrayList<>();
        for (ByteBuf out; (out = channel.readOutbound()) != null; ) {
            sent.add(out);
        }
        assertThat(sent).containsExactly(first, passing, error, close);
        sent.forEach(ByteBuf::release);
        channel.finishAndReleaseAll();
    }

    @Test
    void shouldTripOnlyTheChannelThatPassedTheLimitWhenOneInstanceServesMany() {
        EmbeddedChannel probe = new EmbeddedChannel();
        probe.write(Unpooled.wrappedBuffer(new byte[60]));
        long entry = UnreadOutputLimit.pendingBytes(probe);
        probe.finishAndReleaseAll();
        UnreadOutputLimit shared = new UnreadOutputLimit("tcp", entry + entry / 2);
        List<Object> events = new ArrayList<>();
        ChannelDuplexHandler recorder = new ChannelDuplexHandler() {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                events.add(ctx.channel());
            }

            @Override
            public boolean isSharable() {
                return true;
            }
        };
        EmbeddedChannel slow = new EmbeddedChannel(shared, recorder);
        EmbeddedChannel reading = new EmbeddedChannel(shared, recorder);

        slow.write(Unpooled.wrappedBuffer(new byte[60]), slow.voidPromise());
        slow.write(Unpooled.wrappedBuffer(new byte[60]), slow.voidPromise());
        assertThat(events).containsExactly(slow);

        ByteBuf dropped = Unpooled.wrappedBuffer(new byte[60]);
        slow.write(dropped, slow.voidPromise());
        assertThat(dropped.refCnt()).as("the tripped channel drops frames").isZero();
        ByteBuf kept = Unpooled.wrappedBuffer(new byte[60]);
        reading.write(kept, reading.voidPromise());
        assertThat(kept.refCnt()).as("the other channel still writes").isOne();
        assertThat(events).as("only the slow channel tripped").containsExactly(slow);

        slow.flush();
        reading.flush();
        slow.finishAndReleaseAll();
        reading.finishAndReleaseAll();
    }
}
