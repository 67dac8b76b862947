package io.courier.client.crypto;

/**
 * Why a message could not be encrypted, decrypted or checked (docs/E2E.md section 10). Every
 * failure of this package is an {@link E2eException} carrying one of these, so that a client can
 * store an undecryptable message with its reason instead of dropping it.
 */
public enum Reason {
    /** The authentication tag does not verify: a flipped bit, another conversation or message id, a wrong key. */
    BAD_CIPHERTEXT,
    /** Shared-key mode: no key with the envelope's key id. */
    NO_KEY,
    /** A ratchet message for no session (and no x3dh header), or an unknown signed pre-key. */
    NO_SESSION,
    /** An x3dh header naming a one-time pre-key already used or never made. */
    ONE_TIME_PRE_KEY_REUSED,
    /** A bundle or x3dh header whose identity signature does not verify. */
    FORGED_PRE_KEY,
    /** A malformed or low-order public key (an all-zero X25519 result). */
    BAD_KEY,
    /** A message key already used, or dropped from the skipped-key store. */
    DUPLICATE_OR_EXPIRED,
    /** More than MAX_SKIP (1,000) messages skipped in one chain. */
    TOO_FAR_AHEAD,
    /** An envelope, plaintext or stored record that does not parse. */
    MALFORMED,
    /** An unknown version or type byte. */
    UNSUPPORTED_VERSION,
    /** A downloaded media blob whose digest or MAC does not match, or that does not decrypt. */
    BAD_MEDIA
}
