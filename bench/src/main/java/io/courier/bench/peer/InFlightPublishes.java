package io.courier.bench.peer;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * One sender's QoS 1 PUBLISHes awaiting PUBACK: packet ids 1..65535, handed out in turn (wrapping,
 * skipping 0, which MQTT reserves), each remembering its message's scheduled send time, because a
 * PUBACK carries nothing but the id.
 *
 * <p>The generator's thread {@link #acquire acquires}; the connection's event loop
 * {@link #release releases}. The table is the protocol's whole window, 65,536 longs (512 KiB) per
 * sender, allocated when the pair opens and never grown; it holds primitives, so the hot path
 * neither allocates nor boxes. An id still unacknowledged when its turn comes round again is not
 * reused (MQTT forbids two PUBLISHes in flight under one id): {@link #acquire} answers 0 and the
 * sender counts the message as failed.
 */
final class InFlightPublishes {

    /** No PUBLISH holds the id. {@link System#nanoTime()} reaching it would take centuries. */
    private static final long FREE = Long.MIN_VALUE;
    private static final int MAX_PACKET_ID = 65_535;

    private final AtomicLongArray scheduled = new AtomicLongArray(MAX_PACKET_ID + 1);
    // Touched only by the one thread that sends.
    private int lastId;

    InFlightPublishes() {
        for (int id = 0; id <= MAX_PACKET_ID; id++) {
            scheduled.setPlain(id, FREE);
        }
    }

    /**
     * Takes the next packet id for the message scheduled at {@code scheduledNanos}. Called by the
     * sending thread only; the channel write that carries the id publishes the entry to the event
     * loop.
     *
     * @return the id, or 0 when the next id is still in flight: 65,535 PUBLISHes unacknowledged.
     */
    int acquire(long scheduledNanos) {
        int id = lastId == MAX_PACKET_ID ? 1 : lastId + 1;
        if (scheduled.get(id) != FREE) {
            return 0;
        }
        scheduled.setRelease(id, scheduledNanos);
        lastId = id;
        return id;
    }

    /**
     * Frees {@code packetId} on its PUBACK.
     *
     * @return the scheduled send time it carried, or {@link Long#MIN_VALUE} when it was not in
     *     flight (a PUBACK the broker should not have sent).
     */
    long release(int packetId) {
        if (packetId < 1 || packetId > MAX_PACKET_ID) {
            return FREE;
        }
        return scheduled.getAndSet(packetId, FREE);
    }

    /** Whether {@link #release} found nothing in flight. */
    static boolean isUnknown(long released) {
        return released == FREE;
    }

    /** How many PUBLISHes await PUBACK; scans the table, so for close and tests only. */
    int inFlight() {
        int count = 0;
        for (int id = 1; id <= MAX_PACKET_ID; id++) {
            if (scheduled.get(id) != FREE) {
                count++;
            }
        }
        return count;
    }
}
