package io.courier.storage;

import java.util.Objects;

/**
 * A device's public keys for end-to-end encryption. Opaque to the server.
 *
 * @param identityKey  the user's Ed25519 identity public key.
 * @param agreementKey the device's X25519 public key.
 * @param signature    the identity key's signature over the agreement key.
 */
public record KeyBundle(byte[] identityKey, byte[] agreementKey, byte[] signature) {

    public KeyBundle {
        Objects.requireNonNull(identityKey, "identityKey");
        Objects.requireNonNull(agreementKey, "agreementKey");
        Objects.requireNonNull(signature, "signature");
    }
}
