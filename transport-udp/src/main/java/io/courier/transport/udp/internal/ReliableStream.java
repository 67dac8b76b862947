package io.courier.transport.udp.internal;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One direction pair of a reliable, ordered stream over datagrams — the heart of the UDP
 * transport, free of sockets and clocks so it can be tested against a simulated lossy link. The
 * DATA and ACK bodies it reads and writes (everything after the 9-byte type and connection id),
 * fragmentation, acknowledgement and retransmission are specified in {@code docs/PROTOCOL.md},
 * section 5.3 (the reliable stream); keep the two in step.
 *
 * <p>The owner hands it message bytes ({@link #send}), DATA and ACK bodies ({@link #onData},
 * {@link #onAck}) and the time, and it answers through its {@link Sink}. It keeps no timers of its
 * own: the owner calls {@link #tick} every few milliseconds for retransmissions, and
 * {@link #flushAck()} at the end of every read burst, which is what makes one ACK cover a burst;
 * the stream sends an ACK by itself only after {@link #ACK_EVERY} DATA without one.
 * Not thread-safe: one event loop owns it.
 *
 * <p>Public only so that {@code courier-bench} can measure it (the {@code codec} JMH benchmarks);
 * it is internal all the same.
 */
public final class ReliableStream {

    /** Payload bytes per fragment: 1,200-byte datagrams less the 17-byte DATA header. */
    static final int FRAGMENT_BYTES = 1_183;
    private static final int RECEIVE_BUFFER = 1_024;
    /**
     * DATA datagrams received without an ACK after which one is sent at once, not at the end of the
     * read burst: a quarter of the default 64-datagram window, so a sender never stalls on it.
     */
    static final int ACK_EVERY = 16;

    /** Where datagram bodies go, and where finished messages and violations go. */
    public interface Sink {
        void sendData(ByteBuffer body);

        void sendAck(ByteBuffer body);

        void message(byte[] bytes);

        void violation(boolean tooLarge, String detail);
    }

    private static final class Segment {
        final int seq;
        final ByteBuffer body;
        long sentAtNanos;
        long deadlineNanos;
        int transmissions;

        Segment(int seq, ByteBuffer body) {
            this.seq = seq;
            this.body = body;
        }
    }

    private final Sink sink;
    private final int window;
    private final int maxMessageBytes;
    private final long minRtoNanos;
    private final long maxRtoNanos;

    // sending
    private int nextSeq = 1;
    private final Map<Integer, Segment> unacked = new TreeMap<>();
    private final ArrayDeque<Segment> waiting = new ArrayDeque<>();
    /** Bytes of DATA bodies in {@link #unacked} and {@link #waiting}. */
    private long backlogBytes;
    private long srttNanos = -1;
    private long rttvarNanos;
    private long rtoNanos;
    private long retransmissions;

    // receiving
    private int expected = 1;
    private final TreeMap<Integer, ByteBuffer> outOfOrder = new TreeMap<>();
    private ByteBuffer assembling;
    private int assemblingCount;
    private int assemblingNext;
    private boolean failed;
    private int dataSinceAck;

    public ReliableStream(Sink sink, int window, int maxMessageBytes, long minRtoNanos, long maxRtoNanos) {
        this.sink = sink;
        this.window = window;
        this.maxMessageBytes = maxMessageBytes;
        this.minRtoNanos = minRtoNanos;
        this.maxRtoNanos = maxRtoNanos;
        this.rtoNanos = Math.max(minRtoNanos, 1_000_000_000L); // RFC 6298: 1 s before the first sample
    }

    // ---------------------------------------------------------------- sending

    /** Queues a message; sends what the window allows. */
    public void send(byte[] message, long nowNanos) {
        int count = Math.max(1, (message.length + FRAGMENT_BYTES - 1) / FRAGMENT_BYTES);
        for (int i = 0; i < count; i++) {
            int from = i * FRAGMENT_BYTES;
            int length = Math.min(FRAGMENT_BYTES, message.length - from);
            ByteBuffer body = ByteBuffer.allocate(8 + length);
            body.putInt(nextSeq).putShort((short) i).putShort((short) count).put(message, from, length).flip();
            waiting.addLast(new Segment(nextSeq++, body));
            backlogBytes += body.capacity();
        }
        pump(nowNanos);
    }

    private void pump(long nowNanos) {
        while (unacked.size() < window && !waiting.isEmpty()) {
            Segment segment = waiting.pollFirst();
            unacked.put(segment.seq, segment);
            transmit(segment, nowNanos);
        }
    }

    private void transmit(Segment segment, long nowNanos) {
        segment.transmissions++;
        segment.sentAtNanos = nowNanos;
        long rto = Math.min(maxRtoNanos, rtoNanos << Math.min(10, segment.transmissions - 1));
        segment.deadlineNanos = nowNanos + rto;
        sink.sendData(segment.body.duplicate());
    }

    /** An ACK arrived. */
    public void onAck(ByteBuffer ack, long nowNanos) {
        int cumulative = ack.getInt();
        long sack = ack.getLong();
        Segment sample = null;
        for (Iterator<Segment> it = unacked.values().iterator(); it.hasNext(); ) {
            Segment segment = it.next();
            int offset = segment.seq - cumulative - 1;
            boolean acked = segment.seq <= cumulative || (offset >= 0 && offset < 64 && (sack & (1L << offset)) != 0);
            if (acked) {
                if (segment.transmissions == 1 && (sample == null || segment.seq > sample.seq)) {
                    sample = segment;
                }
                backlogBytes -= segment.body.capacity();
                it.remove();
            }
        }
        if (sample != null) {
            sampleRtt(nowNanos - sample.sentAtNanos);
        }
        pump(nowNanos);
    }

    private void sampleRtt(long rtt) {
        if (srttNanos < 0) {
            srttNanos = rtt;
            rttvarNanos = rtt / 2;
        } else {
            rttvarNanos = (3 * rttvarNanos + Math.abs(srttNanos - rtt)) / 4;
            srttNanos = (7 * srttNanos + rtt) / 8;
        }
        rtoNanos = Math.max(minRtoNanos, Math.min(maxRtoNanos, srttNanos + Math.max(1_000_000L, 4 * rttvarNanos)));
    }

    /** Retransmits what timed out. Call often (every few milliseconds). */
    void tick(long nowNanos) {
        for (Segment segment : unacked.values()) {
            if (segment.deadlineNanos <= nowNanos) {
                retransmissions++;
                transmit(segment, nowNanos);
            }
        }
    }

    /** Datagrams sent but not acknowledged, plus those waiting for window space. */
    int backlog() {
        return unacked.size() + waiting.size();
    }

    /**
     * Bytes of DATA bodies sent and not acknowledged, plus those waiting for window space: what
     * waits to be taken by a peer that does not acknowledge. A snapshot any thread may read.
     */
    long backlogBytes() {
        return backlogBytes;
    }

    /**
     * Forgets the messages not yet sent at all — those whose first fragment still waits for window
     * space — and gives their sequence numbers to what is sent next, so a frame sent now follows
     * what is in flight. A message partly in flight is kept whole. Returns the bytes dropped.
     */
    long discardUnsent() {
        Segment first = null;
        for (Segment segment : waiting) {
            if (segment.body.getShort(4) == 0) {
                first = segment;
                break;
            }
        }
        if (first == null) {
            return 0;
        }
        long dropped = 0;
        while (waiting.peekLast() != null) {
            Segment last = waiting.pollLast();
            dropped += last.body.capacity();
            if (last == first) {
                break;
            }
        }
        backlogBytes -= dropped;
        nextSeq = first.seq;
        return dropped;
    }

    long retransmissions() {
        return retransmissions;
    }

    long rtoNanos() {
        return rtoNanos;
    }

    long srttNanos() {
        return srttNanos;
    }

    // ---------------------------------------------------------------- receiving

    /**
     * A DATA body arrived: deliver what is now in order, and owe an ACK for it — sent by
     * {@link #flushAck()}, or right away if this is the {@link #ACK_EVERY}th DATA without one.
     */
    public void onData(ByteBuffer data) {
        if (failed || data.remaining() < 8) {
            return;
        }
        int seq = data.getInt(data.position());
        if (seq >= expected && seq < expected + RECEIVE_BUFFER && !outOfOrder.containsKey(seq)) {
            outOfOrder.put(seq, data.slice());
        }
        ByteBuffer next;
        while (!failed && (next = outOfOrder.remove(expected)) != null) {
            expected++;
            fragment(next);
        }
        if (++dataSinceAck >= ACK_EVERY) {
            flushAck();
        }
    }

    /** True when DATA arrived since the last ACK was sent. */
    public boolean ackOwed() {
        return dataSinceAck > 0;
    }

    /**
     * Sends one ACK for all DATA received since the last, if any. Call at the end of every read
     * burst that delivered DATA to {@link #onData}: the stream has no timer of its own for it.
     */
    public void flushAck() {
        if (dataSinceAck > 0) {
            dataSinceAck = 0;
            sink.sendAck(ackBody());
        }
    }

    private ByteBuffer ackBody() {
        int cumulative = expected - 1;
        long sack = 0;
        for (int seq : outOfOrder.keySet()) {
            int offset = seq - cumulative - 1;
            if (offset >= 64) {
                break;
            }
            sack |= 1L << offset;
        }
        ByteBuffer ack = ByteBuffer.allocate(12);
        ack.putInt(cumulative).putLong(sack).flip();
        return ack;
    }

    private void fragment(ByteBuffer body) {
        body.getInt(); // seq, already used
        int index = body.getShort() & 0xFFFF;
        int count = body.getShort() & 0xFFFF;
        if (count == 0 || index >= count) {
            fail(false, "Fragment index " + index + " is out of range for a message of " + count + " fragments");
            return;
        }
        if ((long) (count - 1) * FRAGMENT_BYTES >= maxMessageBytes + 1L) {
            fail(true, "A message of " + count + " fragments is above the maximum of " + maxMessageBytes + " bytes");
            return;
        }
        if (index == 0) {
            if (assembling != null) {
                fail(false, "A new message started before fragment " + assemblingNext + " of " + assemblingCount);
                return;
            }
            if (count == 1) {
                byte[] bytes = new byte[body.remaining()];
                body.get(bytes);
                deliver(bytes);
                return;
            }
            assembling = ByteBuffer.allocate((int) Math.min((long) count * FRAGMENT_BYTES,
                (long) maxMessageBytes + FRAGMENT_BYTES));
            assemblingCount = count;
            assemblingNext = 0;
        } else if (assembling == null || count != assemblingCount || index != assemblingNext) {
            fail(false, "Fragment " + index + " of " + count + " arrived out of its message");
            return;
        }
        if (body.remaining() > assembling.remaining()) {
            fail(true, "Reassembled message above the maximum of " + maxMessageBytes + " bytes");
            return;
        }
        assembling.put(body);
        assemblingNext++;
        if (assemblingNext == assemblingCount) {
            assembling.flip();
            byte[] bytes = new byte[assembling.remaining()];
            assembling.get(bytes);
            assembling = null;
            deliver(bytes);
        }
    }

    private void deliver(byte[] bytes) {
        if (bytes.length > maxMessageBytes) {
            fail(true, "Message of " + bytes.length + " bytes is above the maximum of " + maxMessageBytes + " bytes");
            return;
        }
        sink.message(bytes);
    }

    private void fail(boolean tooLarge, String detail) {
        failed = true;
        outOfOrder.clear();
        assembling = null;
        sink.violation(tooLarge, detail);
    }

    /** For tests: what is buffered out of order. */
    List<Integer> buffered() {
        return new ArrayList<>(outOfOrder.keySet());
    }
}
