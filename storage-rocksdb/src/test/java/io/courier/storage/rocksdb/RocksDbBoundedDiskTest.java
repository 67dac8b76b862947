package io.courier.storage.rocksdb;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.storage.AcceptedSend;
import io.courier.storage.DeviceId;
import io.courier.storage.MessageKind;
import io.courier.storage.RetentionPolicy;
import io.courier.storage.StoredMessage;
import io.courier.storage.WriteBatch;
import io.courier.storage.rocksdb.internal.RocksDbBackend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Disk stays bounded: a day of traffic written the way the router writes it (group commits of
 * sends with their de-duplication records, delivery acks, read receipts for most, receipts to
 * the sender acknowledged in turn), then the clock moves past both retention windows, one expiry
 * pass runs, and RocksDB compacts. It prints the size on disk before and after — a demonstration,
 * not a benchmark, so sizes are printed and never asserted — and asserts what must hold whatever
 * the disk: no de-duplication record, delivered entry or index key is left, and every pending
 * entry is.
 */
class RocksDbBoundedDiskTest {

    private static final int MESSAGES = 20_000;
    private static final int UNACKNOWLEDGED = 100;
    private static final int GROUP_COMMIT = 500;
    private static final int PAYLOAD_BYTES = 1024;
    private static final long T0 = 1_700_000_000_000L;

    @TempDir
    Path directory;

    @Test
    void shouldLeaveOnlyPendingEntriesOnDiskOnceBothWindowsHavePassed() {
        RetentionPolicy policy = RetentionPolicy.defaults();
        Path path = directory.resolve("rocksdb");
        try (RocksDbBackend store = RocksDbBackend.open(path, false, 8, 8)) {
            writeTraffic(store);
            store.compact();
            Map<String, Long> before = store.keyCounts();
            long bytesBefore = sizeOnDisk(path, "");
            long sstBefore = sizeOnDisk(path, ".sst");

            long now = T0 + policy.deliveredRetention().plus(Duration.ofDays(1)).toMillis();
            RetentionPolicy.Expired expired = policy.expire(store, now);
            store.compact();
            Map<String, Long> after = store.keyCounts();
            long bytesAfter = sizeOnDisk(path, "");
            long sstAfter = sizeOnDisk(path, ".sst");

            System.out.printf("Bounded disk, RocksDB: %,d messages of %,d bytes, %,d left unacknowledged%n", MESSAGES,
                PAYLOAD_BYTES, UNACKNOWLEDGED);
            System.out.printf("  before expiry (compacted): %,d bytes on disk (%,d in SST files), keys %s%n", bytesBefore,
                sstBefore, before);
            System.out.printf("  expiry at +%d days: %,d de-duplication records, %,d delivered entries, %,d storage calls%n",
                Duration.ofMillis(now - T0).toDays(), expired.sends(), expired.delivered(), expired.calls());
            System.out.printf("  after expiry (compacted):  %,d bytes on disk (%,d in SST files), keys %s%n", bytesAfter,
                sstAfter, after);

            assertThat(expired.sends()).isEqualTo(MESSAGES);
            assertThat(expired.delivered()).as("delivered, never read").isEqualTo(countNeverRead());
            assertThat(after).containsEntry("sends", 0L).containsEntry("sends-by-time", 0L)
                .containsEntry("delivered", 0L).containsEntry("delivered-by-time", 0L)
                .containsEntry("inbox", (long) UNACKNOWLEDGED);
            assertThat(before).containsEntry("sends", (long) MESSAGES).containsEntry("delivered", countNeverRead());
            assertThat(store.acceptedSend(DeviceId.primary("alice"), "c-1")).isEmpty();
            for (int user = 0; user < 100; user++) {
                assertThat(store.pending(recipient(user), 0, MESSAGES)).as("user%d's unacknowledged message", user)
                    .singleElement().satisfies(m -> assertThat(m.payload()).hasSize(PAYLOAD_BYTES));
            }
        }
    }

    /** What the router would have written: ids in acceptance order, one group commit per 500 commands. */
    private static void writeTraffic(RocksDbBackend store) {
        DeviceId alice = DeviceId.primary("alice");
        Random random = new Random(11);
        long nextId = 0;
        WriteBatch batch = new WriteBatch();
        StoredMessage[] sent = new StoredMessage[MESSAGES + 1];
        for (int i = 1; i <= MESSAGES; i++) {
            byte[] payload = new byte[PAYLOAD_BYTES];
            random.nextBytes(payload);
            long at = T0 + i;
            StoredMessage m = new StoredMessage(++nextId, MessageKind.MESSAGE, alice, recipient(i).user(), "c-" + i, 0, at,
                "text/plain", payload, null);
            sent[i] = m;
            batch.append(recipient(i), m).recordSend(alice, "c-" + i, new AcceptedSend(m.serverId(), at));
            nextId = commitIfFull(store, batch, nextId);
        }
        nextId = commit(store, batch, nextId);
        // Every message but the last UNACKNOWLEDGED is acknowledged an hour later; three in four are
        // then read. Each ack and read sends alice a receipt, which her device acknowledges in turn.
        long deliveredAt = T0 + Duration.ofHours(1).toMillis();
        for (int i = 1; i <= MESSAGES - UNACKNOWLEDGED; i++) {
            StoredMessage m = sent[i];
            batch.markDelivered(recipient(i), m.serverId(), deliveredAt);
            StoredMessage doubleTick = StoredMessage.receipt(++nextId, MessageKind.RECEIPT_DELIVERED, m, recipient(i),
                deliveredAt);
            batch.append(alice, doubleTick);
            if (isRead(i)) {
                batch.remove(recipient(i), m.serverId());
                StoredMessage blueTick = StoredMessage.receipt(++nextId, MessageKind.RECEIPT_READ, m, recipient(i),
                    deliveredAt);
                batch.append(alice, blueTick).remove(alice, blueTick.serverId());
            }
            batch.remove(alice, doubleTick.serverId());
            nextId = commitIfFull(store, batch, nextId);
        }
        commit(store, batch, nextId);
    }

    private static long commitIfFull(RocksDbBackend store, WriteBatch batch, long nextId) {
        return batch.size() >= GROUP_COMMIT ? commit(store, batch, nextId) : nextId;
    }

    private static long commit(RocksDbBackend store, WriteBatch batch, long nextId) {
        store.commit(batch.advanceServerId(nextId));
        batch.clear();
        return nextId;
    }

    private static boolean isRead(int i) {
        return i % 4 != 0;
    }

    private static long countNeverRead() {
        long count = 0;
        for (int i = 1; i <= MESSAGES - UNACKNOWLEDGED; i++) {
            if (!isRead(i)) {
                count++;
            }
        }
        return count;
    }

    private static DeviceId recipient(int i) {
        return DeviceId.primary("user" + (i % 100));
    }

    /** Bytes of the files under {@code path} whose names end with {@code suffix}. */
    private static long sizeOnDisk(Path path, String suffix) {
        try (Stream<Path> files = Files.walk(path)) {
            return files.filter(Files::isRegularFile).filter(f -> f.getFileName().toString().endsWith(suffix)).mapToLong(file -> {
                try {
                    return Files.size(file);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).sum();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
