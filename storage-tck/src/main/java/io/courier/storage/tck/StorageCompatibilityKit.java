package io.courier.storage.tck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.courier.storage.AcceptedSend;
import io.courier.storage.DeviceId;
import io.courier.storage.InboxEntry;
import io.courier.storage.KeyBundle;
import io.courier.storage.MessageKind;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.StorageException;
import io.courier.storage.StoredMessage;
import io.courier.storage.WriteBatch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The storage compatibility kit. A backend — ours or a third party's — certifies itself by
 * depending on {@code courier-storage-tck} and writing one class:
 *
 * <pre>{@code
 * class MyStorageCompatibilityTest extends StorageCompatibilityKit {
 *     @Override
 *     protected StorageBackend open(StorageConfig config) {
 *         return new MyStorageProvider().open(config);
 *     }
 * }
 * }</pre>
 *
 * Each test gets a fresh backend in a fresh temporary directory, opened before and closed after.
 * Durable backends also return true from {@link #isDurable()}, and get the close-and-reopen
 * tests; backends with options that can be wrong override {@link #badConfiguration}.
 */
public abstract class StorageCompatibilityKit {

    private static final DeviceId ALICE = DeviceId.primary("alice");
    private static final DeviceId BOB = DeviceId.primary("bob");
    private static final DeviceId BOB_LAPTOP = new DeviceId("bob", "laptop");

    @TempDir
    protected Path dataDirectory;

    protected StorageBackend backend;

    /** Opens (creating if needed) the backend under test with {@code config}. */
    protected abstract StorageBackend open(StorageConfig config);

    /** The configuration every test opens with: the temporary directory, no options. Override to add options. */
    protected StorageConfig config(Path directory) {
        return new StorageConfig(directory, Map.of());
    }

    /** True when data survives close and reopen of the same directory. */
    protected boolean isDurable() {
        return true;
    }

    /**
     * A configuration the backend must refuse with a {@link StorageException} naming the problem,
     * with a fragment of the expected message; empty when the backend has nothing to misconfigure.
     */
    protected Optional<Map.Entry<StorageConfig, String>> badConfiguration(Path directory) {
        return Optional.empty();
    }

    @BeforeEach
    final void openBackend() {
        backend = open(config(dataDirectory));
    }

    @AfterEach
    final void closeBackend() {
        if (backend != null) {
            backend.close();
        }
    }

    // ---------------------------------------------------------------- helpers

    private static StoredMessage message(long serverId, DeviceId from, String to, String clientId, byte[] payload) {
        return new StoredMessage(serverId, MessageKind.MESSAGE, from, to, clientId, 0, 1_000 + serverId,
            "text/plain", payload, new byte[] {9, 8, 7});
    }

    private static StoredMessage message(long serverId) {
        return message(serverId, ALICE, "bob", "c-" + serverId, ("payload " + serverId).getBytes());
    }

    private void commit(WriteBatch batch) {
        backend.messages().commit(batch);
    }

    private List<Long> pendingIds(DeviceId owner) {
        return backend.messages().pending(owner, 0, Integer.MAX_VALUE).stream().map(StoredMessage::serverId).toList();
    }

    private static void assertSameMessage(StoredMessage actual, StoredMessage expected) {
        assertThat(actual.serverId()).isEqualTo(expected.serverId());
        assertThat(actual.kind()).isEqualTo(expected.kind());
        assertThat(actual.sender()).isEqualTo(expected.sender());
        assertThat(actual.recipient()).isEqualTo(expected.recipient());
        assertThat(actual.clientMessageId()).isEqualTo(expected.clientMessageId());
        assertThat(actual.refServerId()).isEqualTo(expected.refServerId());
        assertThat(actual.timestampMs()).isEqualTo(expected.timestampMs());
        assertThat(actual.contentType()).isEqualTo(expected.contentType());
        assertThat(actual.payload()).isEqualTo(expected.payload());
        assertThat(actual.media()).isEqualTo(expected.media());
    }

    // ---------------------------------------------------------------- inbox

    @Test
    void shouldReturnAnAppendedMessageAsPending() {
        StoredMessage m = message(1);
        commit(new WriteBatch().append(BOB, m));
        List<StoredMessage> pending = backend.messages().pending(BOB, 0, 10);
        assertThat(pending).hasSize(1);
        assertSameMessage(pending.get(0), m);
        assertThat(backend.messages().pendingCount(BOB)).isEqualTo(1);
        assertThat(backend.messages().entry(BOB, 1)).get().extracting(InboxEntry::state)
            .isEqualTo(InboxEntry.State.PENDING);
    }

    @Test
    void shouldReturnPendingInServerIdOrderWhateverTheAppendOrder() {
        commit(new WriteBatch().append(BOB, message(30)).append(BOB, message(10)));
        commit(new WriteBatch().append(BOB, message(20)).append(BOB, message(5)));
        assertThat(pendingIds(BOB)).containsExactly(5L, 10L, 20L, 30L);
    }

    @Test
    void shouldSeeEveryAppendWhateverWasReadOrAcknowledgedBefore() {
        commit(new WriteBatch().append(BOB, message(10)).append(BOB, message(11)));
        assertThat(pendingIds(BOB)).containsExactly(10L, 11L);
        commit(new WriteBatch().markDelivered(BOB, 10).remove(BOB, 11));
        assertThat(pendingIds(BOB)).isEmpty();
        // A backend that caches where an inbox starts must not hide later appends, even lower ids.
        commit(new WriteBatch().append(BOB, message(5)).append(BOB, message(20)));
        assertThat(pendingIds(BOB)).containsExactly(5L, 20L);
        assertThat(backend.messages().pending(BOB, 5, 10)).extracting(StoredMessage::serverId).containsExactly(20L);
    }

    @Test
    void shouldHonourAfterServerIdAndLimit() {
        WriteBatch batch = new WriteBatch();
        for (long id = 1; id <= 10; id++) {
            batch.append(BOB, message(id));
        }
        commit(batch);
        assertThat(backend.messages().pending(BOB, 3, 4)).extracting(StoredMessage::serverId).containsExactly(4L, 5L, 6L, 7L);
        assertThat(backend.messages().pending(BOB, 10, 4)).isEmpty();
        assertThat(backend.messages().pending(BOB, 0, 1)).extracting(StoredMessage::serverId).containsExactly(1L);
    }

    @Test
    void shouldKeepInboxesOfDevicesAndUsersApart() {
        commit(new WriteBatch().append(BOB, message(1)).append(BOB_LAPTOP, message(2)).append(ALICE, message(3)));
        assertThat(pendingIds(BOB)).containsExactly(1L);
        assertThat(pendingIds(BOB_LAPTOP)).containsExactly(2L);
        assertThat(pendingIds(ALICE)).containsExactly(3L);
        assertThat(pendingIds(DeviceId.primary("carol"))).isEmpty();
        assertThat(backend.messages().entry(BOB, 2)).isEmpty();
    }

    @Test
    void shouldMarkDeliveredKeepingIdsAndSender() {
        StoredMessage m = message(1);
        commit(new WriteBatch().append(BOB, m).append(BOB, message(2)));
        commit(new WriteBatch().markDelivered(BOB, 1));
        assertThat(pendingIds(BOB)).containsExactly(2L);
        InboxEntry entry = backend.messages().entry(BOB, 1).orElseThrow();
        assertThat(entry.state()).isEqualTo(InboxEntry.State.DELIVERED);
        assertThat(entry.message().serverId()).isEqualTo(1);
        assertThat(entry.message().sender()).isEqualTo(ALICE);
        assertThat(entry.message().clientMessageId()).isEqualTo("c-1");
        assertThat(backend.messages().pendingCount(BOB)).isEqualTo(1);
    }

    @Test
    void shouldRemoveEntriesAndIgnoreAbsentOnes() {
        commit(new WriteBatch().append(BOB, message(1)).append(BOB, message(2)));
        commit(new WriteBatch().remove(BOB, 1).remove(BOB, 99).markDelivered(BOB, 98).remove(ALICE, 2));
        assertThat(backend.messages().entry(BOB, 1)).isEmpty();
        assertThat(pendingIds(BOB)).containsExactly(2L);
    }

    @Test
    void shouldApplyOperationsOfOneBatchInOrder() {
        commit(new WriteBatch().append(BOB, message(1)).markDelivered(BOB, 1).append(BOB, message(2)).remove(BOB, 2));
        assertThat(backend.messages().entry(BOB, 1)).get().extracting(InboxEntry::state)
            .isEqualTo(InboxEntry.State.DELIVERED);
        assertThat(backend.messages().entry(BOB, 2)).isEmpty();
        assertThat(pendingIds(BOB)).isEmpty();
    }

    @Test
    void shouldRoundTripReceipts() {
        StoredMessage original = message(1);
        StoredMessage receipt = StoredMessage.receipt(2, MessageKind.RECEIPT_READ, original, BOB_LAPTOP, 5_000);
        commit(new WriteBatch().append(ALICE, receipt));
        StoredMessage stored = backend.messages().pending(ALICE, 0, 10).get(0);
        assertSameMessage(stored, receipt);
        assertThat(stored.isReceipt()).isTrue();
        assertThat(stored.refServerId()).isEqualTo(1);
        assertThat(stored.sender()).isEqualTo(BOB_LAPTOP);
    }

    @Test
    void shouldRoundTripPayloadsFromZeroBytesToOneMebibyte() {
        Random random = new Random(7);
        int[] sizes = {0, 1, 64 * 1024, 1024 * 1024};
        List<StoredMessage> written = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            byte[] payload = new byte[sizes[i]];
            random.nextBytes(payload);
            StoredMessage m = message(i + 1, ALICE, "bob", "size-" + sizes[i], payload);
            written.add(m);
            commit(new WriteBatch().append(BOB, m));
        }
        List<StoredMessage> read = backend.messages().pending(BOB, 0, 10);
        assertThat(read).hasSize(sizes.length);
        for (int i = 0; i < sizes.length; i++) {
            assertSameMessage(read.get(i), written.get(i));
        }
    }

    // ---------------------------------------------------------------- de-duplication and ids

    @Test
    void shouldRememberAcceptedSendsPerSenderDevice() {
        commit(new WriteBatch().recordSend(ALICE, "c-1", new AcceptedSend(7, 1234)));
        assertThat(backend.messages().acceptedSend(ALICE, "c-1")).contains(new AcceptedSend(7, 1234));
        assertThat(backend.messages().acceptedSend(ALICE, "c-2")).isEmpty();
        assertThat(backend.messages().acceptedSend(new DeviceId("alice", "laptop"), "c-1")).isEmpty();
        assertThat(backend.messages().acceptedSend(BOB, "c-1")).isEmpty();
    }

    @Test
    void shouldTolerateRecordingTheSameSendTwice() {
        commit(new WriteBatch().recordSend(ALICE, "c-1", new AcceptedSend(7, 1234)));
        commit(new WriteBatch().recordSend(ALICE, "c-1", new AcceptedSend(7, 1234)));
        assertThat(backend.messages().acceptedSend(ALICE, "c-1")).contains(new AcceptedSend(7, 1234));
    }

    @Test
    void shouldTrackTheHighestServerIdOfAppendsSendsAndAdvances() {
        assertThat(backend.messages().highestServerId()).isZero();
        commit(new WriteBatch().append(BOB, message(5)));
        assertThat(backend.messages().highestServerId()).isEqualTo(5);
        commit(new WriteBatch().recordSend(ALICE, "x", new AcceptedSend(9, 1)));
        assertThat(backend.messages().highestServerId()).isEqualTo(9);
        commit(new WriteBatch().advanceServerId(20));
        assertThat(backend.messages().highestServerId()).isEqualTo(20);
        commit(new WriteBatch().advanceServerId(3).remove(BOB, 5));
        assertThat(backend.messages().highestServerId()).isEqualTo(20);
    }

    // ---------------------------------------------------------------- concurrency and scale

    @Test
    void shouldKeepOrderWithManyWritersIntoOneInboxAndConcurrentReaders() throws Exception {
        int writers = 4;
        int perWriter = 500;
        ReentrantLock commitLock = new ReentrantLock(); // commit is single-writer by contract
        AtomicLong ids = new AtomicLong();
        AtomicBoolean writing = new AtomicBoolean(true);
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(writers + 2);
        try {
            List<Future<?>> writes = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                writes.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < perWriter; i += 10) {
                        commitLock.lock();
                        try {
                            WriteBatch batch = new WriteBatch();
                            for (int j = 0; j < 10; j++) {
                                batch.append(BOB, message(ids.incrementAndGet()));
                            }
                            commit(batch);
                        } finally {
                            commitLock.unlock();
                        }
                    }
                    return null;
                }));
            }
            List<Future<?>> reads = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                reads.add(pool.submit(() -> {
                    start.await();
                    while (writing.get()) {
                        List<Long> snapshot = pendingIds(BOB);
                        assertThat(snapshot).isSorted().doesNotHaveDuplicates();
                        // Batches are whole and ids are committed in order: a snapshot is a prefix.
                        assertThat(snapshot).isEqualTo(java.util.stream.LongStream.rangeClosed(1, snapshot.size())
                            .boxed().toList());
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> write : writes) {
                write.get(60, TimeUnit.SECONDS);
            }
            writing.set(false);
            for (Future<?> read : reads) {
                read.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
            assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(pendingIds(BOB)).isEqualTo(java.util.stream.LongStream.rangeClosed(1, (long) writers * perWriter)
            .boxed().toList());
    }

    @Test
    void shouldNeverHideEntriesFromReadersRacingAWriterThatAcknowledgesAndAppends() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        AtomicBoolean writing = new AtomicBoolean(true);
        try {
            // The writer keeps exactly the newest 10 entries pending; readers must always see 10
            // once the writer has started, never fewer (a stale cached "start of inbox" would).
            commit(batchOf(1, 10));
            Future<?> writer = pool.submit(() -> {
                for (long id = 11; id <= 2_000; id++) {
                    commit(new WriteBatch().append(BOB, message(id)).markDelivered(BOB, id - 10));
                }
                writing.set(false);
                return null;
            });
            Future<?> reader = pool.submit(() -> {
                while (writing.get()) {
                    assertThat(backend.messages().pending(BOB, 0, 100)).hasSize(10);
                }
                return null;
            });
            writer.get(60, TimeUnit.SECONDS);
            reader.get(60, TimeUnit.SECONDS);
        } finally {
            writing.set(false);
            pool.shutdownNow();
            assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(pendingIds(BOB)).containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1991, 2000)
            .boxed().toList());
    }

    private static WriteBatch batchOf(long from, long to) {
        WriteBatch batch = new WriteBatch();
        for (long id = from; id <= to; id++) {
            batch.append(BOB, message(id));
        }
        return batch;
    }

    @Test
    void shouldServeOneHundredThousandUsers() {
        int users = 100_000;
        WriteBatch batch = new WriteBatch();
        for (int u = 1; u <= users; u++) {
            batch.append(DeviceId.primary("user" + u), message(u, ALICE, "user" + u, "c-" + u, new byte[100]));
            if (batch.size() == 1_000) {
                commit(batch);
                batch = new WriteBatch();
            }
        }
        commit(batch);
        for (int u = 1; u <= users; u += 9_973) {
            DeviceId owner = DeviceId.primary("user" + u);
            assertThat(pendingIds(owner)).containsExactly((long) u);
            assertThat(backend.messages().pendingCount(owner)).isEqualTo(1);
        }
        assertThat(backend.messages().highestServerId()).isEqualTo(users);
    }

    // ---------------------------------------------------------------- directory, presence, keys

    @Test
    void shouldAlwaysListThePrimaryDeviceAndRegisterOthersOnce() {
        assertThat(backend.devices().devices("bob")).containsExactly(BOB);
        backend.devices().register(BOB_LAPTOP);
        backend.devices().register(BOB_LAPTOP);
        backend.devices().register(new DeviceId("bob", "0-tablet"));
        assertThat(backend.devices().devices("bob"))
            .containsExactly(new DeviceId("bob", "0-tablet"), BOB, BOB_LAPTOP);
        assertThat(backend.devices().devices("alice")).containsExactly(ALICE);
    }

    @Test
    void shouldKeepTheLaterLastSeen() {
        assertThat(backend.presence().lastSeen("alice")).isEmpty();
        backend.presence().saveLastSeen(Map.of("alice", 200L, "bob", 100L));
        backend.presence().saveLastSeen(Map.of("alice", 150L, "bob", 300L));
        assertThat(backend.presence().lastSeen("alice")).hasValue(200L);
        assertThat(backend.presence().lastSeen("bob")).hasValue(300L);
    }

    @Test
    void shouldPublishReplaceAndListKeyBundlesPerUser() {
        KeyBundle first = new KeyBundle(new byte[] {1}, new byte[] {2}, new byte[] {3});
        KeyBundle second = new KeyBundle(new byte[] {4, 4}, new byte[] {5, 5}, new byte[] {6, 6});
        backend.keys().publish(BOB_LAPTOP, first);
        backend.keys().publish(BOB, first);
        backend.keys().publish(BOB_LAPTOP, second);
        backend.keys().publish(ALICE, first);
        Map<String, KeyBundle> bundles = backend.keys().bundles("bob");
        assertThat(bundles.keySet()).containsExactly("1", "laptop");
        assertThat(bundles.get("laptop").agreementKey()).isEqualTo(new byte[] {5, 5});
        assertThat(bundles.get("laptop").identityKey()).isEqualTo(new byte[] {4, 4});
        assertThat(bundles.get("laptop").signature()).isEqualTo(new byte[] {6, 6});
        assertThat(backend.keys().bundles("carol")).isEmpty();
    }

    // ---------------------------------------------------------------- lifecycle

    @Test
    void shouldKeepEverythingAcrossCloseAndReopen() {
        assumeTrue(isDurable(), "the backend is not durable");
        StoredMessage m1 = message(1);
        commit(new WriteBatch().append(BOB, m1).append(BOB, message(2)).markDelivered(BOB, 2)
            .recordSend(ALICE, "c-1", new AcceptedSend(1, 1001)).advanceServerId(40));
        backend.devices().register(BOB_LAPTOP);
        backend.presence().saveLastSeen(Map.of("alice", 77L));
        backend.keys().publish(BOB, new KeyBundle(new byte[] {1}, new byte[] {2}, new byte[] {3}));
        backend.close();

        backend = open(config(dataDirectory));
        assertSameMessage(backend.messages().pending(BOB, 0, 10).get(0), m1);
        assertThat(pendingIds(BOB)).containsExactly(1L);
        assertThat(backend.messages().entry(BOB, 2)).get().extracting(InboxEntry::state)
            .isEqualTo(InboxEntry.State.DELIVERED);
        assertThat(backend.messages().acceptedSend(ALICE, "c-1")).contains(new AcceptedSend(1, 1001));
        assertThat(backend.messages().highestServerId()).isEqualTo(40);
        assertThat(backend.devices().devices("bob")).contains(BOB_LAPTOP);
        assertThat(backend.presence().lastSeen("alice")).hasValue(77L);
        assertThat(backend.keys().bundles("bob")).containsOnlyKeys("1");
    }

    @Test
    void shouldRefuseEveryOperationAfterCloseWithAStorageException() {
        backend.close();
        backend.close(); // idempotent
        assertThatThrownBy(() -> backend.messages().commit(new WriteBatch().append(BOB, message(1))))
            .isInstanceOf(StorageException.class);
        assertThatThrownBy(() -> backend.messages().pending(BOB, 0, 1)).isInstanceOf(StorageException.class);
        assertThatThrownBy(() -> backend.messages().entry(BOB, 1)).isInstanceOf(StorageException.class);
        assertThatThrownBy(() -> backend.messages().acceptedSend(BOB, "x")).isInstanceOf(StorageException.class);
        assertThatThrownBy(() -> backend.devices().register(BOB)).isInstanceOf(StorageException.class);
        assertThatThrownBy(() -> backend.devices().devices("bob")).isInstanceOf(StorageException.class);
        assertThatThrownBy(() -> backend.presence().saveLastSeen(Map.of("a", 1L))).isInstanceOf(StorageException.class);
        assertThatThrownBy(() -> backend.presence().lastSeen("a")).isInstanceOf(StorageException.class);
        assertThatThrownBy(() -> backend.keys().bundles("bob")).isInstanceOf(StorageException.class);
        backend = null;
    }

    @Test
    void shouldRefuseABadConfigurationNamingTheProblem() {
        Optional<Map.Entry<StorageConfig, String>> bad = badConfiguration(dataDirectory.resolve("bad"));
        assumeTrue(bad.isPresent(), "the backend has nothing to misconfigure");
        assertThatThrownBy(() -> open(bad.get().getKey()).close())
            .isInstanceOf(StorageException.class)
            .hasMessageContaining(bad.get().getValue());
    }
}
