package io.courier.client.crypto;

import java.util.Objects;

/**
 * What every ciphertext is bound to (docs/E2E.md section 3): the sender, the sending device, the
 * recipient ({@code Send.recipient}, the other person of the conversation even in the copies for
 * the sender's own devices) and the client message id.
 *
 * @param sender the sending user
 * @param senderDevice the sending device
 * @param recipient the other person of the conversation
 * @param clientMessageId the sender's id of this message
 */
public record Conversation(String sender, String senderDevice, String recipient, String clientMessageId) {

    /** Checks no field is null. */
    public Conversation {
        Objects.requireNonNull(sender, "sender");
        Objects.requireNonNull(senderDevice, "senderDevice");
        Objects.requireNonNull(recipient, "recipient");
        Objects.requireNonNull(clientMessageId, "clientMessageId");
    }

    /** {@code conv = str(sender) || str(senderDevice) || str(recipient) || str(clientMessageId)}. */
    public byte[] encode() {
        return new Bytes.Writer().str(sender).str(senderDevice).str(recipient).str(clientMessageId).toBytes();
    }
}
