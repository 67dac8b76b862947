package io.courier.client.crypto;

import java.util.Objects;

/**
 * The device a Signal-mode copy of a message is for (docs/E2E.md section 3).
 *
 * @param user the receiving user
 * @param device the receiving device
 */
public record Target(String user, String device) {

    /** Checks no field is null. */
    public Target {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(device, "device");
    }

    /** {@code target = str(user) || str(device)}. */
    public byte[] encode() {
        return new Bytes.Writer().str(user).str(device).toBytes();
    }
}
