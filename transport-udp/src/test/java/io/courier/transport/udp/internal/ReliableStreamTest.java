package io.courier.transport.udp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The reliability layer against a simulated link that drops, duplicates, reorders and delays
 * datagrams, with a simulated clock: deterministic, and no sleeping. What arrives at an end in one
 * simulated millisecond is one read burst: its ACK goes out when the burst ends.
 */
class ReliableStreamTest {

    private static final long MS = 1_000_000L;

    /** One endpoint plus what it delivered and what it put on the wire. */
    private static final class End implements ReliableStream.Sink {
        final List<byte[]> delivered = new ArrayList<>();
        final List<String> violations = new ArrayList<>();
        final List<byte[]> wire = new ArrayList<>(); // type byte + body
        ReliableStream stream;

        @Override
        public void sendData(ByteBuffer body) {
            wire.add(frame((byte) 'D', body));
        }

        @Override
        public void sendAck(ByteBuffer body) {
            wire.add(frame((byte) 'A', body));
        }

        @Override
        public void message(byte[] bytes) {
            delivered.add(bytes);
        }

        @Override
        public void violation(boolean tooLarge, String detail) {
            violations.add((tooLarge ? "too large: " : "") + detail);
        }

        private static byte[] frame(byte type, ByteBuffer body) {
            byte[] out = new byte[1 + body.remaining()];
            out[0] = type;
            body.get(out, 1, body.remaining());
            return out;
        }

        void receive(byte[] datagram, long now) {
            ByteBuffer body = ByteBuffer.wrap(datagram, 1, datagram.length - 1).slice();
            if (datagram[0] == 'D') {
                stream.onData(body);
            } else {
                stream.onAck(body, now);
            }
        }
    }

    /** A link with loss, duplication, reordering and a fixed one-way delay. */
    private static final class Link {
        private record InFlight(long arrival, byte[] datagram, End to) {
        }

        final Random random;
        final double loss;
        final double duplicate;
        final double reorder;
        final long delay;
        final List<InFlight> flying = new ArrayList<>();
        long sent;
        long dropped;

        Link(long seed, double loss, double duplicate, double reorder, long delay) {
            this.random = new Random(seed);
            this.loss = loss;
            this.duplicate = duplicate;
            this.reorder = reorder;
            this.delay = delay;
        }

        void carry(End from, End to, long now) {
            for (byte[] datagram : from.wire) {
                sent++;
                if (random.nextDouble() < loss) {
                    dropped++;
                    continue;
                }
                long extra = random.nextDouble() < reorder ? delay * 3 : 0;
                flying.add(new InFlight(now + delay + extra, datagram, to));
                if (random.nextDouble() < duplicate) {
                    flying.add(new InFlight(now + delay + random.nextInt(3) * MS, datagram, to));
                }
            }
            from.wire.clear();
        }

        void arrive(long now) {
            List<InFlight> due = new ArrayList<>();
            flying.removeIf(f -> {
                if (f.arrival() <= now) {
                    due.add(f);
                    return true;
                }
                return false;
            });
            due.sort((a, b) -> Long.compare(a.arrival(), b.arrival()));
            Set<End> reading = new LinkedHashSet<>();
            for (InFlight f : due) {
                f.to().receive(f.datagram(), now);
                reading.add(f.to());
            }
            // The read burst is over, as at channelReadComplete.
            for (End end : reading) {
                end.stream.flushAck();
            }
        }
    }

    private static End end(int maxMessage) {
        End end = new End();
        end.stream = new ReliableStream(end, 64, maxMessage, 20 * MS, 2_000 * MS);
        return end;
    }

    private static byte[] message(int n, int size) {
        byte[] bytes = new byte[size];
        ByteBuffer.wrap(bytes).putInt(n);
        for (int i = 4; i < size; i++) {
            bytes[i] = (byte) (n + i);
        }
        return bytes;
    }

    /**
     * Runs both directions until everything sent arrived and was acknowledged, or the simulated
     * time runs out.
     */
    private static long run(End a, End b, Link ab, Link ba, int expected, long limitMs) {
        long now = 0;
        while ((b.delivered.size() < expected || a.stream.backlog() > 0) && now < limitMs * MS) {
            ab.carry(a, b, now);
            ba.carry(b, a, now);
            ab.arrive(now);
            ba.arrive(now);
            a.stream.tick(now);
            b.stream.tick(now);
            now += MS;
        }
        return now;
    }

    @Test
    void shouldDeliverEveryMessageOnceAndInOrderOverALossyLink() {
        End alice = end(64 * 1024);
        End bob = end(64 * 1024);
        Link ab = new Link(1, 0.10, 0.05, 0.10, 2 * MS);
        Link ba = new Link(2, 0.10, 0.05, 0.10, 2 * MS);
        int count = 10_000;
        Random sizes = new Random(3);
        List<byte[]> sent = new ArrayList<>();
        for (int n = 0; n < count; n++) {
            // Mostly small frames, some spanning several datagrams.
            byte[] m = message(n, n % 50 == 0 ? 4_000 + sizes.nextInt(8_000) : 20 + sizes.nextInt(200));
            sent.add(m);
            alice.stream.send(m, 0);
        }
        long took = run(alice, bob, ab, ba, count, 600_000);
        assertThat(bob.violations).isEmpty();
        assertThat(bob.delivered).hasSize(count);
        for (int n = 0; n < count; n++) {
            assertThat(bob.delivered.get(n)).as("message %d", n).isEqualTo(sent.get(n));
        }
        assertThat(ab.dropped).as("the link really dropped").isPositive();
        assertThat(alice.stream.retransmissions()).isPositive();
        // Everything was acknowledged: the sender holds nothing.
        assertThat(alice.stream.backlog()).isZero();
        assertThat(ba.sent).as("ACKs, coalesced per burst").isLessThan(ab.sent);
        System.out.printf("10,000 messages over 10%% loss / 5%% duplication / 10%% reordering: %d simulated ms, "
            + "%d datagrams sent, %d dropped, %d retransmissions, %d ACKs, RTO %.1f ms%n", took / MS, ab.sent,
            ab.dropped, alice.stream.retransmissions(), ba.sent, alice.stream.rtoNanos() / 1e6);
    }

    @Test
    void shouldEstimateRoundTripTimeAndDeriveTheTimeoutFromIt() {
        End alice = end(64 * 1024);
        End bob = end(64 * 1024);
        Link ab = new Link(4, 0, 0, 0, 15 * MS);
        Link ba = new Link(5, 0, 0, 0, 15 * MS);
        for (int n = 0; n < 200; n++) {
            alice.stream.send(message(n, 100), 0);
        }
        run(alice, bob, ab, ba, 200, 60_000);
        // 30 ms round trips: SRTT near 30 ms, RTO above it but far below the initial 1 s.
        assertThat(alice.stream.srttNanos() / MS).isBetween(28L, 40L);
        assertThat(alice.stream.rtoNanos() / MS).isBetween(30L, 200L);
        assertThat(alice.stream.retransmissions()).isZero();
    }

    @Test
    void shouldReassembleLargeMessagesWithoutASizeLimit() {
        End alice = end(Integer.MAX_VALUE);
        End bob = end(Integer.MAX_VALUE);
        byte[] big = message(7, 50_000);
        alice.stream.send(big, 0);
        run(alice, bob, new Link(6, 0, 0, 0, MS), new Link(7, 0, 0, 0, MS), 1, 10_000);
        assertThat(bob.violations).isEmpty();
        assertThat(bob.delivered).singleElement().isEqualTo(big);
    }

    @Test
    void shouldRefuseAFragmentIndexOutOfRange() {
        End bob = end(64 * 1024);
        ByteBuffer data = ByteBuffer.allocate(12);
        data.putInt(1).putShort((short) 5).putShort((short) 3).putInt(0).flip();
        bob.stream.onData(data);
        assertThat(bob.violations).singleElement().asString().contains("out of range");
        assertThat(bob.delivered).isEmpty();
    }

    @Test
    void shouldRefuseAReassemblyAboveTheMaximum() {
        End alice = end(1_000_000);
        End bob = end(8 * 1024);
        alice.stream.send(new byte[20_000], 0);
        ArrayDeque<byte[]> wire = new ArrayDeque<>(alice.wire);
        alice.wire.clear();
        bob.receive(wire.poll(), 0);
        assertThat(bob.violations).singleElement().asString().startsWith("too large");
        assertThat(bob.delivered).isEmpty();
    }

    @Test
    void shouldAcknowledgeSelectivelyWhatArrivedBeyondAGap() {
        End alice = end(64 * 1024);
        End bob = end(64 * 1024);
        for (int n = 0; n < 5; n++) {
            alice.stream.send(message(n, 10), 0);
        }
        List<byte[]> wire = new ArrayList<>(alice.wire);
        alice.wire.clear();
        bob.receive(wire.get(0), 0);
        bob.receive(wire.get(2), 0); // seq 2 is lost
        bob.receive(wire.get(3), 0);
        bob.stream.flushAck();
        byte[] ack = bob.wire.get(bob.wire.size() - 1);
        ByteBuffer body = ByteBuffer.wrap(ack, 1, ack.length - 1);
        assertThat(body.getInt()).as("cumulative").isEqualTo(1);
        assertThat(body.getLong()).as("seq 3 and 4 beyond the gap").isEqualTo(0b110L);
        assertThat(bob.delivered).hasSize(1);
        assertThat(bob.stream.buffered()).containsExactly(3, 4);
    }

    @Test
    void shouldAcknowledgeABurstOfDataWithOneAckAtItsEnd() {
        End alice = end(64 * 1024);
        End bob = end(64 * 1024);
        for (int n = 0; n < 10; n++) {
            alice.stream.send(message(n, 10), 0);
        }
        List<byte[]> wire = new ArrayList<>(alice.wire);
        alice.wire.clear();
        for (byte[] datagram : wire) {
            bob.receive(datagram, 0);
        }
        assertThat(bob.delivered).hasSize(10);
        assertThat(bob.wire).as("nothing before the burst ends").isEmpty();
        assertThat(bob.stream.ackOwed()).isTrue();

        bob.stream.flushAck();
        assertThat(acks(bob)).as("one ACK for all ten").singleElement().isEqualTo(new Ack(10, 0));
        bob.stream.flushAck();
        assertThat(bob.wire).as("nothing more is owed").hasSize(1);
        assertThat(bob.stream.ackOwed()).isFalse();

        alice.receive(bob.wire.get(0), 1 * MS);
        assertThat(alice.stream.backlog()).as("the one ACK retired all ten").isZero();
    }

    @Test
    void shouldAcknowledgeEverySixteenthDataWithinALongBurst() {
        End alice = end(64 * 1024);
        End bob = end(64 * 1024);
        for (int n = 0; n < 40; n++) {
            alice.stream.send(message(n, 10), 0);
        }
        List<byte[]> wire = new ArrayList<>(alice.wire);
        alice.wire.clear();
        for (byte[] datagram : wire) {
            bob.receive(datagram, 0);
        }
        assertThat(acks(bob)).as("without waiting for the burst's end")
            .containsExactly(new Ack(ReliableStream.ACK_EVERY, 0), new Ack(2 * ReliableStream.ACK_EVERY, 0));
        bob.stream.flushAck();
        assertThat(acks(bob)).hasSize(3).last().isEqualTo(new Ack(40, 0));
    }

    @Test
    void shouldAcknowledgeADuplicateAgainSinceItsAckMayHaveBeenLost() {
        End alice = end(64 * 1024);
        End bob = end(64 * 1024);
        alice.stream.send(message(1, 10), 0);
        byte[] data = alice.wire.get(0);
        bob.receive(data, 0);
        bob.stream.flushAck();
        bob.receive(data, 0);
        bob.stream.flushAck();
        assertThat(acks(bob)).containsExactly(new Ack(1, 0), new Ack(1, 0));
        assertThat(bob.delivered).as("delivered once").hasSize(1);
    }

    @Test
    void shouldAcknowledgeAGapAndItsRepairInTheBurstsTheyArrivedIn() {
        End alice = end(64 * 1024);
        End bob = end(64 * 1024);
        for (int n = 0; n < 6; n++) {
            alice.stream.send(message(n, 10), 0);
        }
        List<byte[]> wire = new ArrayList<>(alice.wire);
        alice.wire.clear();
        // One burst, reordered, seq 3 missing.
        bob.receive(wire.get(5), 0);
        bob.receive(wire.get(0), 0);
        bob.receive(wire.get(3), 0);
        bob.receive(wire.get(1), 0);
        bob.receive(wire.get(4), 0);
        bob.stream.flushAck();
        assertThat(acks(bob)).singleElement().isEqualTo(new Ack(2, 0b1110L)); // seq 4, 5 and 6 beyond the gap at 3
        alice.receive(bob.wire.get(0), 10 * MS);
        assertThat(alice.stream.backlog()).as("only seq 3 unacknowledged").isEqualTo(1);

        // The retransmission of seq 3, after its timeout, fills the gap.
        alice.stream.tick(5_000 * MS);
        assertThat(alice.wire).hasSize(1);
        bob.receive(alice.wire.get(0), 5_001 * MS);
        bob.stream.flushAck();
        assertThat(acks(bob)).hasSize(2).last().isEqualTo(new Ack(6, 0));
        assertThat(bob.delivered).hasSize(6);
        for (int n = 0; n < 6; n++) {
            assertThat(ByteBuffer.wrap(bob.delivered.get(n)).getInt()).isEqualTo(n);
        }
    }

    private record Ack(int cumulative, long sack) {
    }

    /** The ACKs {@code end} put on the wire, in order. */
    private static List<Ack> acks(End end) {
        List<Ack> acks = new ArrayList<>();
        for (byte[] datagram : end.wire) {
            if (datagram[0] == 'A') {
                ByteBuffer body = ByteBuffer.wrap(datagram, 1, datagram.length - 1);
                acks.add(new Ack(body.getInt(), body.getLong()));
            }
        }
        return acks;
    }
}
