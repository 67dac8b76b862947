package io.courier.bench.load;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The load's message bodies: {@code size} bytes whose first 8 hold the scheduled send time
 * ({@link System#nanoTime()}, big-endian). On Linux that clock is CLOCK_MONOTONIC, one clock for
 * every process on the machine, so a receiver in another process can read it too.
 */
public final class Payloads {

    /** The smallest payload: the timestamp. */
    public static final int MIN_SIZE = Long.BYTES;

    private Payloads() {
    }

    /** A new payload of {@code size} bytes stamped with {@code scheduledNanos}. */
    public static byte[] create(int size, long scheduledNanos) {
        if (size < MIN_SIZE) {
            throw new IllegalArgumentException("payload must be at least " + MIN_SIZE + " bytes, was " + size);
        }
        byte[] payload = new byte[size];
        ByteBuffer.wrap(payload).putLong(0, scheduledNanos);
        for (int i = MIN_SIZE; i < size; i++) {
            payload[i] = (byte) ('a' + i % 26);
        }
        return payload;
    }

    /** The scheduled send time stamped in {@code payload}. */
    public static long scheduled(byte[] payload) {
        return ByteBuffer.wrap(payload).getLong(0);
    }

    /** The scheduled send time stamped in the payload starting at {@code buffer}'s position. */
    public static long scheduled(ByteBuffer buffer) {
        return buffer.duplicate().order(ByteOrder.BIG_ENDIAN).getLong(buffer.position());
    }
}
