package io.courier.client;

import io.courier.client.crypto.Reason;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Objects;

/**
 * A message as the local database holds it: a snapshot, immutable; a later state comes as a new
 * instance through {@link CourierListener#onStateChanged}.
 *
 * @param localId       this database's order: increasing in the order messages were sent or stored
 * @param conversation  the other user of the conversation (the recipient of an outgoing message,
 *                      the sender of an incoming one; the user's own id for notes to oneself)
 * @param clientId      the id the sending device gave it ({@code client_message_id})
 * @param serverId      the server's id, 0 while {@link MessageState#PENDING} or {@link MessageState#FAILED}
 * @param direction     outgoing or incoming
 * @param sender        the sending user
 * @param senderDevice  the sending device
 * @param recipient     the receiving user
 * @param contentType   opaque to the server, e.g. {@code text/plain}
 * @param payload       the content (do not modify the array)
 * @param state         where it stands
 * @param createdAt     when {@code send} was called (outgoing from this device) or it was stored here
 * @param acceptedAt    the server's time of acceptance, or null while pending
 * @param failureCode   the server's error code name when {@link MessageState#FAILED}, else null
 * @param failureText   the server's error text when {@link MessageState#FAILED}, else null
 * @param media         the file the message carries ({@link CourierClient#sendMedia}), or null
 * @param encryption    how it was encrypted end to end ({@link Encryption#NONE} for a plain one); for
 *                      an incoming message that could not be decrypted, how it was meant to be
 * @param undecryptable why an incoming encrypted message could not be decrypted, or null when it
 *                      was (or was not encrypted); such a message keeps the envelope as its
 *                      payload and {@code application/vnd.courier.e2e} as its content type
 */
public record Message(long localId, String conversation, String clientId, long serverId, Direction direction,
                      String sender, String senderDevice, String recipient, String contentType, byte[] payload,
                      MessageState state, Instant createdAt, Instant acceptedAt, String failureCode,
                      String failureText, Media media, Encryption encryption, Reason undecryptable) {

    public Message {
        Objects.requireNonNull(conversation, "conversation");
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(direction, "direction");
        Objects.requireNonNull(payload, "payload");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(encryption, "encryption");
    }

    /** True when the message arrived encrypted and could not be decrypted ({@link #undecryptable()} says why). */
    public boolean isUndecryptable() {
        return undecryptable != null;
    }

    /** True when the message carries a file. */
    public boolean hasMedia() {
        return media != null;
    }

    /** The payload read as UTF-8 text. */
    public String text() {
        return new String(payload, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "Message[" + direction + " " + conversation + " " + clientId + " #" + serverId + " " + state
            + (failureCode == null ? "" : " " + failureCode + ": " + failureText) + (media == null ? "" : " " + media)
            + (encryption == Encryption.NONE ? "" : " " + encryption)
            + (undecryptable == null ? "" : " undecryptable " + undecryptable) + "]";
    }
}
