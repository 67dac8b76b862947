package io.courier.bench.load;

/** A sender and a receiver on one {@link Target}. */
public interface Pair extends AutoCloseable {

    /**
     * Sends one message from the sender to the receiver. {@code payload} comes from
     * {@link Payloads#create} and must be sent as is. Called from the generator's one thread;
     * must not block (queueing is the system's business, and shows up as latency).
     */
    void send(byte[] payload);

    /** Closes both connections. */
    @Override
    void close();
}
