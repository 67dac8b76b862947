package io.courier.storage;

/** What an inbox entry is. Receipts are messages too: stored and acknowledged the same way. */
public enum MessageKind {
    /** A chat message (or a copy for the sender's other devices). */
    MESSAGE,
    /** Double tick: a recipient device stored the message {@code refServerId}. */
    RECEIPT_DELIVERED,
    /** Blue tick: the recipient read the message {@code refServerId}. */
    RECEIPT_READ
}
