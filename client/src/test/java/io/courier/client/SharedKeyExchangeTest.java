package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.courier.client.crypto.Reason;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shared-key mode between two SDK clients on a real server: both directions decrypt, the key
 * outlives a restart, and a message for which the receiver has no key is stored undecryptable
 * (and acknowledged) instead of being dropped.
 */
class SharedKeyExchangeTest {

    static final byte[] KEY = key(7);

    @TempDir
    Path dir;

    static byte[] key(int fill) {
        byte[] key = new byte[32];
        Arrays.fill(key, (byte) fill);
        key[0] = 1;
        return key;
    }

    @Test
    void shouldExchangeMessagesEncryptedWithTheConversationsKeyBothWaysAndAcrossARestart() throws Exception {
        try (TestServer server = new TestServer(dir).start()) {
            Recorder aliceSaw = new Recorder();
            Recorder bobSaw = new Recorder();
            try (CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), aliceSaw);
                 CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), bobSaw)) {
                alice.setSharedKey("bob", KEY);
                bob.setSharedKey("alice", KEY);
                String hi = alice.sendText("bob", "hello over a shared key");
                bob.sendText("alice", "and back");
                await().atMost(30, SECONDS).until(() -> bobSaw.arrived.size() == 1 && aliceSaw.arrived.size() == 1);

                Message atBob = bobSaw.arrived.get(0);
                assertThat(atBob.text()).isEqualTo("hello over a shared key");
                assertThat(atBob.contentType()).isEqualTo("text/plain");
                assertThat(atBob.encryption()).isEqualTo(Encryption.SHARED_KEY);
                assertThat(atBob.isUndecryptable()).isFalse();
                assertThat(aliceSaw.arrived.get(0).text()).isEqualTo("and back");
                // The sender keeps the plaintext, and its message says how it went.
                await().atMost(30, SECONDS).until(() -> alice.message(hi).orElseThrow().state() == MessageState.DELIVERED);
                Message sent = alice.message(hi).orElseThrow();
                assertThat(sent.text()).isEqualTo("hello over a shared key");
                assertThat(sent.encryption()).isEqualTo(Encryption.SHARED_KEY);
            }
            // Reopened, both still hold the key.
            Recorder bobAgain = new Recorder();
            try (CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), new Recorder());
                 CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), bobAgain)) {
                alice.sendText("bob", "after the restart");
                await().atMost(30, SECONDS).until(() -> bobAgain.arrived.size() == 1);
                assertThat(bobAgain.arrived.get(0).text()).isEqualTo("after the restart");
                assertThat(bobAgain.arrived.get(0).encryption()).isEqualTo(Encryption.SHARED_KEY);
                assertThat(Clients.texts(bob.history("alice")))
                    .containsExactlyInAnyOrder("hello over a shared key", "and back", "after the restart");
            }
        }
    }

    @Test
    void shouldStoreAMessageWhoseKeyTheReceiverLacksAsUndecryptableAndStillAcknowledgeIt() throws Exception {
        try (TestServer server = new TestServer(dir).start()) {
            Recorder bobSaw = new Recorder();
            try (CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), new Recorder());
                 CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), bobSaw)) {
                alice.setSharedKey("bob", KEY);
                bob.setSharedKey("alice", key(9)); // another key: another key id
                String id = alice.sendText("bob", "bob cannot read this");
                await().atMost(30, SECONDS).until(() -> bobSaw.arrived.size() == 1);
                Message atBob = bobSaw.arrived.get(0);
                assertThat(atBob.isUndecryptable()).isTrue();
                assertThat(atBob.undecryptable()).isEqualTo(Reason.NO_KEY);
                assertThat(atBob.encryption()).isEqualTo(Encryption.SHARED_KEY);
                assertThat(new String(atBob.payload(), StandardCharsets.UTF_8)).doesNotContain("bob cannot read");
                assertThat(bob.history("alice")).hasSize(1);
                // Acknowledged like any other: the sender gets its double tick.
                await().atMost(30, SECONDS).until(() -> alice.message(id).orElseThrow().state() == MessageState.DELIVERED);
            }
        }
    }

    @Test
    void shouldRefuseAKeyThatIsNotThirtyTwoBytes() throws Exception {
        try (TestServer server = new TestServer(dir).start();
             CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), new Recorder())) {
            assertThatThrownBy(() -> alice.setSharedKey("bob", new byte[16]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("32 bytes");
            assertThat(List.of(alice.conversations())).isNotNull();
        }
    }
}
