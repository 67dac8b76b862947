package io.courier.storage;

import java.util.Objects;

/**
 * One inbox entry by its key: whose inbox, and which server id.
 *
 * @param owner    the device whose inbox holds it.
 * @param serverId the entry's server id.
 */
public record EntryId(DeviceId owner, long serverId) {

    public EntryId {
        Objects.requireNonNull(owner, "owner");
    }
}
