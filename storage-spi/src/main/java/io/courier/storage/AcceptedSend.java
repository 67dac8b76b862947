package io.courier.storage;

/**
 * What the store remembers of a send, to answer a repeated send with the same single tick.
 *
 * @param serverId     the id given to the send the first time.
 * @param acceptedAtMs when it was first accepted.
 */
public record AcceptedSend(long serverId, long acceptedAtMs) {
}
