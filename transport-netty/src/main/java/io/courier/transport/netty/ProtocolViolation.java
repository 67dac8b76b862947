package io.courier.transport.netty;

import io.courier.transport.proto.Error;

/**
 * The user event a transport's handlers fire when the peer breaks the rules: its input violates the
 * protocol (a decoder), or it stopped reading what it is sent ({@link UnreadOutputLimit}). The
 * {@link ConnectionBridge} reports it to the router, answers with a fatal error frame and closes.
 *
 * @param code   the error code for the peer.
 * @param detail what was wrong, naming sizes and limits.
 */
public record ProtocolViolation(Error.Code code, String detail) {
}
