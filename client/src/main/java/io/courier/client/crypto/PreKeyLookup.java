package io.courier.client.crypto;

import java.util.Optional;

/**
 * The receiving device's private pre-keys, as {@link SessionCipher#decrypt} needs them to answer
 * an X3DH header: an unknown signed pre-key is {@link Reason#NO_SESSION}, an unknown (used or
 * never made) one-time pre-key {@link Reason#ONE_TIME_PRE_KEY_REUSED}. The caller erases the
 * one-time pre-key that {@link SessionCipher.Decrypted#usedOneTimePreKeyId()} names in the same
 * transaction that stores the new session.
 */
public interface PreKeyLookup {

    /** The signed pre-key with this id, if still kept. */
    Optional<SignedPreKey> signedPreKey(int id);

    /** The one-time pre-key with this id, if not used yet. */
    Optional<OneTimePreKey> oneTimePreKey(int id);
}
