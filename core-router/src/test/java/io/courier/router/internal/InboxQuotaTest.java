package io.courier.router.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.storage.DeviceId;
import io.courier.storage.MessageKind;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.StoredMessage;
import io.courier.storage.WriteBatch;
import io.courier.storage.memory.InMemoryStorageProvider;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The writer's inbox counts on their own, against the in-memory store: what it counts from, and when. */
class InboxQuotaTest {

    private static final DeviceId ALICE = DeviceId.primary("alice");
    private static final DeviceId BOB = DeviceId.primary("bob");

    private final StorageBackend storage = new InMemoryStorageProvider().open(new StorageConfig(Path.of("unused"), Map.of()));

    @AfterEach
    void close() {
        storage.close();
    }

    @Test
    void shouldCountAnInboxFromTheStoreTheFirstTimeItIsNeeded() {
        storage.messages().commit(new WriteBatch().append(BOB, message(1, 10)).append(BOB, message(2, 10)));
        InboxQuota quota = new InboxQuota(storage.messages(), 3, 1_000);
        assertThat(quota.countedEntries(BOB)).as("nothing counted before it is needed").isEqualTo(-1);

        assertThat(quota.refusal(BOB, message(3, 10))).isNull();
        assertThat(quota.countedEntries(BOB)).isEqualTo(2);
        quota.added(BOB, message(3, 10));
        assertThat(quota.refusal(BOB, message(4, 10))).contains("holds 3 pending entries")
            .contains("router.inbox-max-messages = 3");
    }

    @Test
    void shouldCountABatchOnlyOnceItIsCommitted() {
        InboxQuota quota = new InboxQuota(storage.messages(), 2, 1_000);
        assertThat(quota.refusal(BOB, message(1, 10))).isNull();
        quota.added(BOB, message(1, 10));
        quota.added(BOB, message(2, 10));
        quota.discarded();
        assertThat(quota.refusal(BOB, message(3, 10))).as("a refused batch counts for nothing").isNull();

        quota.added(BOB, message(3, 10));
        quota.added(BOB, message(4, 10));
        quota.committed();
        assertThat(quota.countedEntries(BOB)).isEqualTo(2);
        assertThat(quota.refusal(BOB, message(5, 10))).isNotNull();

        quota.taken(BOB, message(3, 10));
        assertThat(quota.refusal(BOB, message(5, 10))).as("what the batch takes out makes room in it").isNull();
    }

    @Test
    void shouldSeeWhatTheBatchDidToAnInboxFirstCountedInTheMiddleOfIt() {
        storage.messages().commit(new WriteBatch().append(BOB, message(1, 10)));
        InboxQuota quota = new InboxQuota(storage.messages(), 2, 1_000);
        // The batch appends before anything needed bob's count: the store does not have it yet.
        quota.added(BOB, message(2, 10));
        assertThat(quota.refusal(BOB, message(3, 10))).isNotNull();
        quota.committed();
        storage.messages().commit(new WriteBatch().append(BOB, message(2, 10)));
        assertThat(quota.countedEntries(BOB)).isEqualTo(2);
    }

    @Test
    void shouldRefuseByContentBytesAndCountReceiptsAsEntriesWithoutBytes() {
        InboxQuota quota = new InboxQuota(storage.messages(), 100, 100);
        quota.added(BOB, message(1, 60));
        assertThat(quota.refusal(BOB, message(2, 50))).contains("holds 60 bytes pending and this message has 50")
            .contains("router.inbox-max-bytes = 100");
        assertThat(quota.refusal(BOB, message(2, 40))).isNull();
        StoredMessage receipt = StoredMessage.receipt(3, MessageKind.RECEIPT_DELIVERED, message(1, 60), ALICE, 1);
        quota.added(BOB, receipt);
        assertThat(quota.refusal(BOB, message(4, 40))).isNull();
        assertThat(quota.refusal(ALICE, message(5, 100))).as("inboxes are counted apart").isNull();
    }

    private static StoredMessage message(long serverId, int payloadBytes) {
        return new StoredMessage(serverId, MessageKind.MESSAGE, ALICE, "bob", "c-" + serverId, 0, 1, "",
            new byte[payloadBytes], null);
    }
}
