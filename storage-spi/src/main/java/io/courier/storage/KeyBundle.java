package io.courier.storage;

import java.util.Objects;

/**
 * A device's long-lived public keys for end-to-end encryption: everything of its key bundle but
 * the one-time pre-keys, which {@link KeyStore} keeps as a separate supply. Opaque to the server,
 * which stores public keys only and verifies no signature (the fetching client does).
 *
 * @param identityKey         the device's Ed25519 identity public key.
 * @param agreementKey        the device's signed pre-key, an X25519 public key.
 * @param signature           the identity key's signature over the agreement key; may be empty.
 * @param identityDhKey       the device's X25519 identity public key; empty for a device that does no X3DH.
 * @param identityDhSignature the identity key's signature over the X25519 identity key; may be empty.
 * @param signedPreKeyId      the signed pre-key's id, chosen by the device (an unsigned 32-bit
 *                            number held in an int).
 */
public record KeyBundle(byte[] identityKey, byte[] agreementKey, byte[] signature, byte[] identityDhKey,
                        byte[] identityDhSignature, int signedPreKeyId) {

    private static final byte[] EMPTY = new byte[0];

    public KeyBundle {
        Objects.requireNonNull(identityKey, "identityKey");
        Objects.requireNonNull(agreementKey, "agreementKey");
        Objects.requireNonNull(signature, "signature");
        identityDhKey = identityDhKey == null ? EMPTY : identityDhKey;
        identityDhSignature = identityDhSignature == null ? EMPTY : identityDhSignature;
    }

    /** A bundle of the first protocol version: no X25519 identity key, signed pre-key id 0. */
    public KeyBundle(byte[] identityKey, byte[] agreementKey, byte[] signature) {
        this(identityKey, agreementKey, signature, EMPTY, EMPTY, 0);
    }

    /** A deep copy, so that nobody changing the arrays of one changes the other. */
    public KeyBundle copy() {
        return new KeyBundle(identityKey.clone(), agreementKey.clone(), signature.clone(), identityDhKey.clone(),
            identityDhSignature.clone(), signedPreKeyId);
    }
}
