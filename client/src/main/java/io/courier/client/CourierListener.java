package io.courier.client;

/**
 * What a {@link CourierClient} announces. Every call comes after the change it reports was
 * committed to the local database (presence, which is not stored, excepted), on the client's own
 * thread, one at a time and in order.
 * Implementations must return quickly and must not block; they may call the client's query
 * methods ({@link CourierClient#history}, {@link CourierClient#unreadCount}...), and
 * {@link CourierClient#send} and {@link CourierClient#markRead}.
 * Every method has an empty default.
 */
public interface CourierListener {

    /**
     * A message was stored on this device: one sent to this user, or a copy of a message this
     * user sent from another device ({@link Direction#OUTGOING}).
     */
    default void onMessage(Message message) {
    }

    /** An outgoing message changed state: SENT, DELIVERED, READ or FAILED. */
    default void onStateChanged(Message message) {
    }

    /**
     * An outgoing message is still {@link MessageState#PENDING} the configured time after it was
     * sent ({@link CourierClient.Builder#unsentAfter}). Reported once per message per run; the
     * message stays in the outbox and is still sent when it can be.
     */
    default void onNotSentYet(Message message) {
    }

    /** The connection changed state. */
    default void onConnectionChanged(ConnectionStatus status) {
    }

    /**
     * A watched user's presence ({@link CourierClient#watchPresence}): once for every watched user
     * when the watch starts and again after every reconnect, then whenever one comes online, goes
     * offline, or becomes visible or invisible to this user (the server coalesces a flapping
     * connection). Not stored: after a restart, watch again.
     */
    default void onPresence(Presence presence) {
    }

    /**
     * The identity keys of {@code user}'s devices changed since this device first saw them: a known
     * device has a new key (a reinstall, or someone else), or a device appeared or disappeared.
     * Raised before this client encrypts to that user again, with the new safety number
     * ({@link CourierClient#safetyNumber}) to compare with the contact's.
     */
    default void onSafetyNumberChanged(String user, String safetyNumber) {
    }
}
