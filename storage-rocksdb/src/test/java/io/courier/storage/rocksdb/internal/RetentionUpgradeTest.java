package io.courier.storage.rocksdb.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.storage.AcceptedSend;
import io.courier.storage.DeviceId;
import io.courier.storage.InboxEntry;
import io.courier.storage.MessageKind;
import io.courier.storage.RetentionPolicy;
import io.courier.storage.StoredMessage;
import io.courier.storage.WriteBatch;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.DBOptions;
import org.rocksdb.RocksDB;

/**
 * A database written before retention existed (no index families, delivered values without a
 * delivery time) is indexed when first opened, and its old records then expire like new ones.
 */
class RetentionUpgradeTest {

    private static final long T0 = 1_700_000_000_000L;
    private static final DeviceId ALICE = DeviceId.primary("alice");
    private static final DeviceId BOB = DeviceId.primary("bob");

    @TempDir
    Path directory;

    @Test
    void shouldIndexAnOlderDatabaseOnOpenSoItsRecordsExpire() throws Exception {
        Path path = directory.resolve("rocksdb");
        StoredMessage delivered = message(1, T0);
        StoredMessage pending = message(2, T0);
        writeAsBeforeRetention(path, delivered, pending);

        RetentionPolicy policy = RetentionPolicy.defaults();
        try (RocksDbBackend store = RocksDbBackend.open(path, false, 8, 8)) {
            assertThat(store.keyCounts()).containsEntry("sends-by-time", 1L).containsEntry("delivered-by-time", 1L);
            assertThat(store.entry(BOB, 1)).get().extracting(InboxEntry::state).isEqualTo(InboxEntry.State.DELIVERED);
            assertThat(store.acceptedSend(ALICE, "c-1")).contains(new AcceptedSend(1, T0));

            // The old delivered value has no delivery time: its acceptance time stands in.
            long justBefore = T0 + policy.deliveredRetention().toMillis() - 1;
            assertThat(policy.expire(store, justBefore)).isEqualTo(new RetentionPolicy.Expired(1, 0, 2));
            assertThat(store.entry(BOB, 1)).isPresent();
            assertThat(policy.expire(store, justBefore + 1).delivered()).isEqualTo(1);

            assertThat(store.entry(BOB, 1)).isEmpty();
            assertThat(store.acceptedSend(ALICE, "c-1")).isEmpty();
            assertThat(store.pending(BOB, 0, 10)).extracting(StoredMessage::serverId).containsExactly(2L);
            assertThat(store.highestServerId()).isEqualTo(2);
        }
        // Opened again, nothing is indexed twice and the store works as before.
        try (RocksDbBackend store = RocksDbBackend.open(path, false, 8, 8)) {
            assertThat(store.keyCounts()).containsEntry("sends-by-time", 0L).containsEntry("delivered-by-time", 0L)
                .containsEntry("inbox", 1L);
            store.commit(new WriteBatch().markDelivered(BOB, 2, T0 + Duration.ofDays(40).toMillis()));
            assertThat(store.entry(BOB, 2)).get().extracting(InboxEntry::state).isEqualTo(InboxEntry.State.DELIVERED);
        }
    }

    /** The families and encodings as they were: version-1 delivered values, no index. */
    private static void writeAsBeforeRetention(Path path, StoredMessage delivered, StoredMessage pending)
        throws Exception {
        List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
        descriptors.add(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY));
        for (String family : List.of("inbox", "delivered", "sends", "devices", "presence", "keys")) {
            descriptors.add(new ColumnFamilyDescriptor(family.getBytes(StandardCharsets.UTF_8)));
        }
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        java.nio.file.Files.createDirectories(path);
        try (DBOptions options = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true);
             RocksDB db = RocksDB.open(options, path.toString(), descriptors, handles)) {
            db.put(handles.get(0), "highest-server-id".getBytes(StandardCharsets.UTF_8), Codec.longValue(2));
            db.put(handles.get(2), Codec.inboxKey(BOB, 1), Codec.encode(delivered));
            db.put(handles.get(1), Codec.inboxKey(BOB, 2), Codec.encode(pending));
            db.put(handles.get(3), Codec.sendKey(ALICE, "c-1"), Codec.twoLongs(1, T0));
        } finally {
            handles.forEach(ColumnFamilyHandle::close);
        }
    }

    private static StoredMessage message(long serverId, long at) {
        return new StoredMessage(serverId, MessageKind.MESSAGE, ALICE, "bob", "c-" + serverId, 0, at, "text/plain",
            null, null);
    }
}
