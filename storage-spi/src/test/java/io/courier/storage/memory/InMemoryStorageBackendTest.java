package io.courier.storage.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.courier.storage.AcceptedSend;
import io.courier.storage.DeviceId;
import io.courier.storage.InboxEntry;
import io.courier.storage.KeyBundle;
import io.courier.storage.MessageKind;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.StorageException;
import io.courier.storage.StorageProviders;
import io.courier.storage.StoredMessage;
import io.courier.storage.WriteBatch;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What the in-memory backend promises beyond the SPI, which the compatibility kit (in
 * {@code storage-tck}) cannot ask of every backend.
 */
class InMemoryStorageBackendTest {

    private static final DeviceId ALICE = DeviceId.primary("alice");
    private static final DeviceId BOB = DeviceId.primary("bob");

    private final StorageBackend backend = new InMemoryStorageProvider()
        .open(new StorageConfig(Path.of("never-created"), Map.of("unknown-option", "ignored")));

    @AfterEach
    void close() {
        backend.close();
    }

    private static StoredMessage message(long serverId) {
        return new StoredMessage(serverId, MessageKind.MESSAGE, ALICE, "bob", "c-" + serverId, 0, 1_000,
            "text/plain", new byte[] {1, 2, 3}, new byte[] {4, 5});
    }

    @Test
    void shouldBeFoundByItsNameThroughTheServiceLoader() {
        assertThat(StorageProviders.find("memory")).isInstanceOf(InMemoryStorageProvider.class);
        assertThat(backend.name()).isEqualTo("memory");
        assertThat(Path.of("never-created")).doesNotExist();
    }

    @Test
    void shouldDropThePayloadAndMediaOfDeliveredEntries() {
        backend.messages().commit(new WriteBatch().append(BOB, message(1)).markDelivered(BOB, 1, 2_000));

        InboxEntry entry = backend.messages().entry(BOB, 1).orElseThrow();
        assertThat(entry.state()).isEqualTo(InboxEntry.State.DELIVERED);
        assertThat(entry.message().payload()).isEmpty();
        assertThat(entry.message().media()).isEmpty();
        assertThat(entry.message().clientMessageId()).isEqualTo("c-1");
        assertThat(entry.message().contentType()).isEqualTo("text/plain");
    }

    @Test
    void shouldApplyNothingOfABatchWithAMalformedOperation() {
        WriteBatch batch = new WriteBatch().append(BOB, message(1)).advanceServerId(50)
            .recordSend(ALICE, "c-1", new AcceptedSend(1, 1)).append(null, message(2));

        assertThatThrownBy(() -> backend.messages().commit(batch)).isInstanceOf(StorageException.class)
            .hasMessageContaining("nothing applied").hasMessageContaining("operation #3 (append) has no owner");
        assertThat(backend.messages().pending(BOB, 0, 10)).isEmpty();
        assertThat(backend.messages().acceptedSend(ALICE, "c-1")).isEmpty();
        assertThat(backend.messages().highestServerId()).isZero();

        // The store stays usable.
        backend.messages().commit(new WriteBatch().append(BOB, message(1)));
        assertThat(backend.messages().pendingCount(BOB)).isEqualTo(1);
    }

    @Test
    void shouldReplaceAnEntryAppendedAgainUnderTheSameId() {
        backend.messages().commit(new WriteBatch().append(BOB, message(1)).markDelivered(BOB, 1, 2_000));
        backend.messages().commit(new WriteBatch().append(BOB, message(1)));

        assertThat(backend.messages().entry(BOB, 1).orElseThrow().state()).isEqualTo(InboxEntry.State.PENDING);
        assertThat(backend.messages().pending(BOB, 0, 10)).hasSize(1);
    }

    @Test
    void shouldNotLetCallersChangeAPublishedKeyBundle() {
        byte[] agreement = {1, 2, 3};
        backend.keys().publish(BOB, new KeyBundle(new byte[] {9}, agreement, new byte[] {8}));
        agreement[0] = 42;
        backend.keys().bundles("bob").get("1").agreementKey()[1] = 42;

        assertThat(backend.keys().bundles("bob").get("1").agreementKey()).containsExactly(1, 2, 3);
    }

    @Test
    void shouldSayTheStoreIsClosedAndForgetEverything() {
        backend.messages().commit(new WriteBatch().append(BOB, message(1)));
        backend.close();

        assertThatThrownBy(() -> backend.messages().pending(BOB, 0, 10)).isInstanceOf(StorageException.class)
            .hasMessage("The in-memory store is closed");
        assertThatThrownBy(() -> backend.devices().register(BOB)).isInstanceOf(StorageException.class)
            .hasMessage("The in-memory store is closed");
        // Another open of the provider is a new, empty store.
        try (StorageBackend fresh = new InMemoryStorageProvider()
            .open(new StorageConfig(Path.of("never-created"), Map.of()))) {
            assertThat(fresh.messages().pendingCount(BOB)).isZero();
        }
    }
}
