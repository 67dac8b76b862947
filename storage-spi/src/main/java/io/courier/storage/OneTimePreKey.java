package io.courier.storage;

import java.util.Objects;

/**
 * One X25519 one-time pre-key of a device: handed out by {@link KeyStore#takeOneTimePreKey} once,
 * then gone.
 *
 * @param id        chosen by the device, unique among its one-time pre-keys (an unsigned 32-bit
 *                  number held in an int).
 * @param publicKey the X25519 public key.
 */
public record OneTimePreKey(int id, byte[] publicKey) {

    public OneTimePreKey {
        Objects.requireNonNull(publicKey, "publicKey");
    }
}
