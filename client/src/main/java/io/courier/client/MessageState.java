package io.courier.client;

/**
 * Where a message stands. An outgoing message moves {@code PENDING → SENT → DELIVERED → READ}
 * (never backwards), or from {@code PENDING} to {@code FAILED}. An incoming message is
 * {@code DELIVERED} once stored on this device and {@code READ} once
 * {@link CourierClient#markRead marked read} here.
 */
public enum MessageState {
    /** Stored in the local outbox; the server has not accepted it yet. Sent again on every connect. */
    PENDING,
    /** The server stored it and gave it a server id (single tick). */
    SENT,
    /** A device of the recipient stored it (double tick); for an incoming message, this device did. */
    DELIVERED,
    /** The recipient read it (blue tick); for an incoming message, it was marked read here. */
    READ,
    /** The server refused it for good ({@link Message#failureCode()} says why); it is not sent again. */
    FAILED;

    /** True for states that a later one may replace. */
    public boolean isFinal() {
        return this == READ || this == FAILED;
    }
}
