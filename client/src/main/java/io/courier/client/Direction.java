package io.courier.client;

/** Whether a message was written by this user (on this device or another) or to them. */
public enum Direction {
    /** Sent by this user: from this device, or a copy of what another of the user's devices sent. */
    OUTGOING,
    /** Sent to this user by someone else. */
    INCOMING
}
