package io.courier.storage;

import java.util.Objects;

/**
 * One inbox entry as the store keeps it. Immutable; byte arrays are owned by the entry and must not
 * be changed by anyone after construction.
 *
 * @param serverId        server-assigned id, unique, increasing in acceptance order; the same for
 *                        every device copy of one send.
 * @param kind            message or receipt.
 * @param sender          for a message, the sending device; for a receipt, the device that
 *                        received or read the message.
 * @param recipient       the user the message was addressed to (for a receipt: the original
 *                        sender, i.e. the user the receipt goes to).
 * @param clientMessageId the sending device's id of the message (for a receipt: of the message
 *                        the receipt is about).
 * @param refServerId     for a receipt, the server id of the message it is about; 0 for messages.
 * @param timestampMs     acceptance time (message) or receipt time (receipt), ms since the epoch.
 * @param contentType     opaque hint for the client; empty for receipts.
 * @param payload         opaque bytes, possibly encrypted; empty for receipts. Up to 1 MiB.
 * @param media           an encoded media reference, or empty.
 */
public record StoredMessage(
    long serverId,
    MessageKind kind,
    DeviceId sender,
    String recipient,
    String clientMessageId,
    long refServerId,
    long timestampMs,
    String contentType,
    byte[] payload,
    byte[] media) {

    private static final byte[] EMPTY = new byte[0];

    public StoredMessage {
        if (serverId <= 0) {
            throw new IllegalArgumentException("serverId must be positive, was " + serverId);
        }
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(sender, "sender");
        Objects.requireNonNull(recipient, "recipient");
        Objects.requireNonNull(clientMessageId, "clientMessageId");
        contentType = contentType == null ? "" : contentType;
        payload = payload == null ? EMPTY : payload;
        media = media == null ? EMPTY : media;
    }

    /** A receipt about {@code message}, by {@code by}, addressed to the message's sender. */
    public static StoredMessage receipt(long serverId, MessageKind kind, StoredMessage message, DeviceId by,
                                        long timestampMs) {
        if (kind == MessageKind.MESSAGE) {
            throw new IllegalArgumentException("A receipt kind is required, was " + kind);
        }
        return new StoredMessage(serverId, kind, by, message.sender().user(), message.clientMessageId(),
            message.serverId(), timestampMs, "", EMPTY, EMPTY);
    }

    /** True for the two receipt kinds. */
    public boolean isReceipt() {
        return kind != MessageKind.MESSAGE;
    }
}
