package io.courier.storage;

/**
 * An inbox entry and where it stands.
 *
 * @param message   the entry; after {@link State#DELIVERED} the store may have dropped the payload
 *                  (it is then empty), but ids and sender are kept.
 * @param state     pending until the device acknowledges it.
 */
public record InboxEntry(StoredMessage message, State state) {

    /** Where an entry stands. */
    public enum State {
        /** Not yet acknowledged by the device: drained on every reconnect. */
        PENDING,
        /** Acknowledged; kept only so that a later read receipt can be checked and routed. */
        DELIVERED
    }
}
