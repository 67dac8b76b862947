package io.courier.transport.netty;

import io.courier.transport.proto.Error;

/**
 * The user event a transport's decoder fires when input violates the protocol; the
 * {@link ConnectionBridge} answers it with a fatal error frame and closes.
 *
 * @param code   the error code for the peer.
 * @param detail what was wrong, naming sizes and limits.
 */
public record ProtocolViolation(Error.Code code, String detail) {
}
