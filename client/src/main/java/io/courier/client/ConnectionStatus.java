package io.courier.client;

/**
 * A snapshot of the connection for a status line.
 *
 * @param state       what the connection manager is doing
 * @param queued      outgoing messages in the outbox without the server's acceptance yet
 * @param lastProblem why the last connection ended or the last attempt failed, for people; null if none
 */
public record ConnectionStatus(ConnectionState state, int queued, String lastProblem) {
}
