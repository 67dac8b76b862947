package io.courier.client;

/**
 * How a message is (or was) encrypted end to end, and the mode a client encrypts in
 * ({@link CourierClient.Builder#encryption}). The two encrypted modes are those of
 * {@code docs/E2E.md}.
 */
public enum Encryption {
    /** Not encrypted: the server can read the payload. The default mode of a client. */
    NONE,
    /**
     * A pre-shared 256-bit key per conversation ({@link CourierClient#setSharedKey}): one
     * ciphertext for every device, no forward secrecy.
     */
    SHARED_KEY,
    /**
     * X3DH and the Double Ratchet, one ciphertext per receiving device, with forward secrecy. The
     * mode to choose when encryption is on; conversations with a shared key still use that key.
     */
    SIGNAL
}
