package io.courier.client.crypto;

import java.util.Arrays;
import java.util.Optional;
import java.util.function.Function;

/**
 * Shared-key mode (docs/E2E.md section 4.1): AES-256-GCM under a pre-shared 256-bit conversation
 * key, a random 96-bit nonce per message, bound to the {@link Conversation}. No forward secrecy.
 * <pre>
 * envelope = 01 01 || keyId (8) || nonce (12) || AEAD(K, nonce, plaintext, ad)
 * keyId    = first 8 bytes of SHA256(ascii("Courier-SK-id-v1") || K)
 * ad       = 01 01 || keyId || nonce || conv
 * </pre>
 */
public final class SharedKeyCipher {
    private static final int HEADER = 2 + 8 + 12;

    private SharedKeyCipher() {
    }

    /** The 8-byte id of {@code key} that envelopes carry so the receiver can pick the key. */
    public static byte[] keyId(byte[] key) {
        checkKey(key);
        return Arrays.copyOf(Primitives.sha256(Bytes.ascii("Courier-SK-id-v1"), key), 8);
    }

    /** The envelope of {@code plaintext} (usually a {@link PlainMessage#encode()}) under {@code key}. */
    public static byte[] encrypt(byte[] key, Conversation conversation, byte[] plaintext, Entropy entropy) {
        byte[] header = Bytes.concat(new byte[] {1, 1}, keyId(key), entropy.bytes(12));
        byte[] nonce = Arrays.copyOfRange(header, 10, HEADER);
        byte[] ct = Aead.seal(key, nonce, plaintext, Bytes.concat(header, conversation.encode()));
        return Bytes.concat(header, ct);
    }

    /**
     * The plaintext of {@code envelope}, with the key {@code keyById} finds for its key id: no such
     * key is {@link Reason#NO_KEY}, a tag that does not verify (a flipped bit, another
     * conversation or message) {@link Reason#BAD_CIPHERTEXT}.
     */
    public static byte[] decrypt(Function<byte[], Optional<byte[]>> keyById, Conversation conversation, byte[] envelope) {
        if (Envelope.type(envelope) != Envelope.Type.SHARED_KEY) {
            throw new E2eException(Reason.MALFORMED, "not a shared-key envelope");
        }
        if (envelope.length < HEADER + 16) {
            throw new E2eException(Reason.MALFORMED, "a shared-key envelope has at least " + (HEADER + 16)
                    + " bytes, got " + envelope.length);
        }
        byte[] keyId = Arrays.copyOfRange(envelope, 2, 10);
        byte[] key = keyById.apply(keyId).orElseThrow(() ->
                new E2eException(Reason.NO_KEY, "no conversation key with id " + Bytes.hex(keyId)));
        checkKey(key);
        byte[] header = Arrays.copyOf(envelope, HEADER);
        byte[] nonce = Arrays.copyOfRange(envelope, 10, HEADER);
        return Aead.open(key, nonce, Arrays.copyOfRange(envelope, HEADER, envelope.length),
                Bytes.concat(header, conversation.encode()));
    }

    private static void checkKey(byte[] key) {
        if (key == null || key.length != 32) {
            throw new E2eException(Reason.BAD_KEY, "a conversation key is 32 bytes, got " + (key == null ? "none" : key.length));
        }
    }
}
