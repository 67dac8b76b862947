package io.courier.client.crypto;

import static io.courier.client.crypto.Reasons.assertFails;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Shared-key mode: round trip, binding to the conversation, and every tampering case. */
class SharedKeyCipherTest {
    private final Entropy entropy = Entropy.secure();
    private final byte[] key = entropy.bytes(32);
    private final Function<byte[], Optional<byte[]>> keys =
            id -> Arrays.equals(id, SharedKeyCipher.keyId(key)) ? Optional.of(key) : Optional.empty();
    private final Conversation conv = new Conversation("alice", "phone", "bob", "m-1");
    private final byte[] plain = new PlainMessage("text/plain", "hello".getBytes(StandardCharsets.UTF_8), Optional.empty()).encode();

    @Test
    void shouldRoundTripAndUseAFreshNonceEachTime() {
        byte[] a = SharedKeyCipher.encrypt(key, conv, plain, entropy);
        byte[] b = SharedKeyCipher.encrypt(key, conv, plain, entropy);
        assertThat(a).isNotEqualTo(b);
        assertThat(Envelope.type(a)).isEqualTo(Envelope.Type.SHARED_KEY);
        assertThat(a).hasSize(2 + 8 + 12 + plain.length + 16);
        assertThat(SharedKeyCipher.decrypt(keys, conv, a)).isEqualTo(plain);
        assertThat(SharedKeyCipher.decrypt(keys, conv, b)).isEqualTo(plain);
    }

    @Test
    void shouldRefuseEveryFlippedBitAsBadCiphertextOrNoKey() {
        byte[] env = SharedKeyCipher.encrypt(key, conv, plain, entropy);
        for (int bit = 16; bit < env.length * 8; bit++) {
            byte[] t = env.clone();
            t[bit / 8] ^= (byte) (1 << (bit % 8));
            // The key id picks the key: a changed id finds none; a change anywhere else fails the tag.
            Reason expected = bit < (2 + 8) * 8 ? Reason.NO_KEY : Reason.BAD_CIPHERTEXT;
            assertFails(expected, () -> SharedKeyCipher.decrypt(keys, conv, t));
        }
    }

    @Test
    void shouldRefuseAnotherConversationOrMessageOrKey() {
        byte[] env = SharedKeyCipher.encrypt(key, conv, plain, entropy);
        for (Conversation other : new Conversation[] {
                new Conversation("mallory", "phone", "bob", "m-1"),
                new Conversation("alice", "laptop", "bob", "m-1"),
                new Conversation("alice", "phone", "carol", "m-1"),
                new Conversation("alice", "phone", "bob", "m-2")}) {
            assertFails(Reason.BAD_CIPHERTEXT, () -> SharedKeyCipher.decrypt(keys, other, env));
        }
        byte[] wrong = entropy.bytes(32);
        assertFails(Reason.BAD_CIPHERTEXT, () -> SharedKeyCipher.decrypt(id -> Optional.of(wrong), conv, env));
        assertFails(Reason.NO_KEY, () -> SharedKeyCipher.decrypt(id -> Optional.empty(), conv, env));
    }

    @Test
    void shouldRefuseGarbageAndUnknownVersions() {
        byte[] env = SharedKeyCipher.encrypt(key, conv, plain, entropy);
        assertFails(Reason.MALFORMED, () -> SharedKeyCipher.decrypt(keys, conv, new byte[] {1}));
        assertFails(Reason.MALFORMED, () -> SharedKeyCipher.decrypt(keys, conv, Arrays.copyOf(env, 30)));
        byte[] v2 = env.clone();
        v2[0] = 2;
        assertFails(Reason.UNSUPPORTED_VERSION, () -> SharedKeyCipher.decrypt(keys, conv, v2));
        byte[] t9 = env.clone();
        t9[1] = 9;
        assertFails(Reason.UNSUPPORTED_VERSION, () -> SharedKeyCipher.decrypt(keys, conv, t9));
    }
}
