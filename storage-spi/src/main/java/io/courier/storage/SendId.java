package io.courier.storage;

import java.util.Objects;

/**
 * One send as its sender names it: what the de-duplication record is kept under.
 *
 * @param sender          the sending device.
 * @param clientMessageId the id the sender gave the message.
 */
public record SendId(DeviceId sender, String clientMessageId) {

    public SendId {
        Objects.requireNonNull(sender, "sender");
        Objects.requireNonNull(clientMessageId, "clientMessageId");
    }
}
