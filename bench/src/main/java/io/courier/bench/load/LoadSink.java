package io.courier.bench.load;

/**
 * Where a {@link Target} reports what happened to each message. Thread-safe and wait-free: called
 * from clients' I/O threads.
 */
public interface LoadSink {

    /**
     * The system took responsibility for the message scheduled at {@code scheduledNanos}: Courier's
     * {@code Accepted} (the single tick), an MQTT PUBACK. Targets with no such acknowledgement (the
     * floors) never call it.
     */
    void accepted(long scheduledNanos);

    /** The receiver got the message scheduled at {@code scheduledNanos} (read from its payload). */
    void received(long scheduledNanos);

    /** The system refused or lost one message (an error frame, a dropped connection). */
    void failed(String reason);
}
