package io.courier.bench.load;

import java.util.concurrent.CompletableFuture;

/**
 * A system under load, as one load-generator process sees it: Courier over one transport, a floor
 * (Aeron, a raw TCP relay) or a peer broker (MQTT). It opens sender → receiver pairs for latency
 * runs and idle connections for density runs. Implementations own their client threads and
 * release them in {@link #close()}.
 *
 * <p>Every implementation carries the same payload: {@link Payloads} puts the message's scheduled
 * send time in its first 8 bytes, and the receiving side hands that time back to the
 * {@link LoadSink}. Latency is always measured from the schedule, never from the actual send, so a
 * stall in the system (or in the generator) is charged to every message it delayed.
 */
public interface Target extends AutoCloseable {

    /**
     * Opens pair {@code index}: a sending and a receiving connection. Completes once both are
     * ready to carry messages (authenticated, subscribed), so no message is sent into a void.
     * Callbacks for this pair go to {@code sink}, from any thread.
     *
     * @param index unique across every load process of a run (processes get disjoint ranges), so
     *              names derived from it do not collide.
     */
    CompletableFuture<Pair> openPair(int index, LoadSink sink);

    /**
     * Opens one idle connection, authenticated the way this system authenticates (Courier hello
     * and welcome, MQTT CONNECT and CONNACK). Completes once the system has accepted it; closing the
     * result closes the connection.
     */
    CompletableFuture<AutoCloseable> openIdle(int index);

    /** Closes every connection and releases threads. */
    @Override
    void close();
}
