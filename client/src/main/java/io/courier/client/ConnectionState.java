package io.courier.client;

/** What the client's connection manager is doing. */
public enum ConnectionState {
    /** Opening a connection or waiting for the server's welcome. */
    CONNECTING,
    /** Signed in: sends go out, deliveries come in. */
    CONNECTED,
    /** No connection; the next attempt is scheduled (with back-off). Sends wait in the outbox. */
    OFFLINE,
    /**
     * No connection and no further attempt: the server refused this device in a way retrying cannot
     * fix ({@code AUTH_FAILED} after the token supplier gave nothing new, {@code SESSION_REPLACED},
     * {@code TOO_MANY_DEVICES}), or the client was closed. Sends still go to the outbox.
     */
    STOPPED
}
