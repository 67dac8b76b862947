package io.courier.storage.tck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.courier.storage.AcceptedSend;
import io.courier.storage.DeviceId;
import io.courier.storage.EntryId;
import io.courier.storage.InboxEntry;
import io.courier.storage.InboxUsage;
import io.courier.storage.KeyBundle;
import io.courier.storage.MessageKind;
import io.courier.storage.MessageStore;
import io.courier.storage.OneTimePreKey;
import io.courier.storage.PresencePrivacy;
import io.courier.storage.RetentionPolicy;
import io.courier.storage.SendId;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.StorageException;
import io.courier.storage.StoredMessage;
import io.courier.storage.WriteBatch;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The storage compatibility kit: what every Courier storage backend, ours or a third party's,
 * must do to be trusted with the delivery contract.
 *
 * <h2>Certifying a backend</h2>
 *
 * Depend on {@code io.courier:courier-storage-tck} in test scope (it brings JUnit Jupiter and
 * AssertJ with it) and write one class in your test sources:
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
 * Every test of this class then runs against your backend. Each test gets a fresh temporary
 * directory ({@link #dataDirectory}) and a backend opened on it before the test
 * ({@link #backend}) and closed after it. Optional hooks:
 *
 * <ul>
 *   <li>{@link #isDurable()}: return {@code false} if data does not survive closing and reopening
 *       the same directory (like the in-memory backend); the close-and-reopen test is then skipped
 *       with an assumption, visibly, not silently passed.</li>
 *   <li>{@link #config(Path)}: add the options your backend needs (a JDBC URL, a schema per test
 *       directory so that tests never see each other's data).</li>
 *   <li>{@link #badConfiguration(Path)}: a configuration your backend must refuse, so the kit can
 *       check that it fails with a {@link StorageException} naming the problem. Without it that
 *       test is skipped.</li>
 * </ul>
 *
 * <p>The tests only use the SPI: {@link StorageBackend} and its stores, {@link WriteBatch}, the
 * records, and {@link RetentionPolicy} for expiry. They assert behaviour, never timing; concurrent
 * tests wait with bounded latches and futures, and the retention tests move a clock by hand. The largest test writes one message to each of 100,000 users in batches of 1,000 and
 * 1 MiB payloads, so run with a heap of a few hundred MiB.
 */
public abstract class StorageCompatibilityKit {

    private static final DeviceId ALICE = DeviceId.primary("alice");
    private static final DeviceId ALICE_LAPTOP = new DeviceId("alice", "laptop");
    private static final DeviceId BOB = DeviceId.primary("bob");
    private static final DeviceId BOB_LAPTOP = new DeviceId("bob", "laptop");
    private static final DeviceId CAROL = DeviceId.primary("carol");
    private static final long WAIT_SECONDS = 60;
    private static final long DAY = 86_400_000L;
    /** When the tests that are not about retention mark entries delivered. */
    private static final long DELIVERED_AT = 5_000;

    /** The temporary directory of the current test; the backend under test is opened on it. */
    @TempDir
    protected Path dataDirectory;

    /** The backend under test: opened before each test, closed after it. */
    protected StorageBackend backend;

    /**
     * Opens (creating if needed) the backend under test. Called before each test with
     * {@link #config(Path) config(dataDirectory)}, again on the same configuration by the
     * close-and-reopen test, and with {@link #badConfiguration(Path)}'s configuration.
     */
    protected abstract StorageBackend open(StorageConfig config);

    /**
     * The configuration every test opens with. By default the test's temporary directory and no
     * options; override to add options. Must return an equal configuration for the same directory,
     * so that reopening finds the same data.
     */
    protected StorageConfig config(Path directory) {
        return new StorageConfig(directory, Map.of());
    }

    /**
     * True (the default) when everything written survives closing and reopening the same
     * configuration. A backend that keeps data only in memory returns false, and the
     * close-and-reopen test is skipped.
     */
    protected boolean isDurable() {
        return true;
    }

    /**
     * A configuration {@link #open} must refuse with a {@link StorageException}, paired with a
     * fragment its message must contain (the option key, the address, the path: what a person
     * needs to fix it). Empty by default: a backend with nothing to misconfigure skips that test.
     *
     * @param directory a directory inside this test's temporary directory (not yet created).
     */
    protected Optional<Map.Entry<StorageConfig, String>> badConfiguration(Path directory) {
        return Optional.empty();
    }

    @BeforeEach
    final void openBackend() {
        backend = open(config(dataDirectory));
        assertThat(backend).as("open(config) returned a backend").isNotNull();
    }

    @AfterEach
    final void closeBackend() {
        if (backend != null) {
            backend.close();
        }
    }

    // ---------------------------------------------------------------- helpers

    private static StoredMessage message(long serverId, DeviceId from, String to, String clientId, String contentType,
                                         byte[] payload, byte[] media) {
        return new StoredMessage(serverId, MessageKind.MESSAGE, from, to, clientId, 0, 1_000 + serverId,
            contentType, payload, media);
    }

    private static StoredMessage message(long serverId) {
        return message(serverId, ALICE, "bob", "c-" + serverId, "text/plain",
            ("payload " + serverId).getBytes(StandardCharsets.UTF_8), new byte[] {9, 8, 7});
    }

    private void commit(WriteBatch batch) {
        backend.messages().commit(batch);
    }

    private List<Long> pendingIds(DeviceId owner) {
        return ids(backend.messages().pending(owner, 0, Integer.MAX_VALUE));
    }

    private static List<Long> ids(List<StoredMessage> messages) {
        return messages.stream().map(StoredMessage::serverId).toList();
    }

    private static List<Long> range(long fromInclusive, long toInclusive) {
        return LongStream.rangeClosed(fromInclusive, toInclusive).boxed().toList();
    }

    private InboxEntry.State stateOf(DeviceId owner, long serverId) {
        return backend.messages().entry(owner, serverId).map(InboxEntry::state).orElse(null);
    }

    private static void assertSameMessage(StoredMessage actual, StoredMessage expected) {
        assertThat(actual.serverId()).as("serverId").isEqualTo(expected.serverId());
        assertThat(actual.kind()).as("kind").isEqualTo(expected.kind());
        assertThat(actual.sender()).as("sender").isEqualTo(expected.sender());
        assertThat(actual.recipient()).as("recipient").isEqualTo(expected.recipient());
        assertThat(actual.clientMessageId()).as("clientMessageId").isEqualTo(expected.clientMessageId());
        assertThat(actual.refServerId()).as("refServerId").isEqualTo(expected.refServerId());
        assertThat(actual.timestampMs()).as("timestampMs").isEqualTo(expected.timestampMs());
        assertThat(actual.contentType()).as("contentType").isEqualTo(expected.contentType());
        // Arrays.equals, not a per-element diff: a failure on 1 MiB must stay readable.
        assertThat(Arrays.equals(actual.payload(), expected.payload()))
            .as("payload of %s is byte-exact (%d bytes read, %d written)", expected.serverId(),
                actual.payload().length, expected.payload().length)
            .isTrue();
        assertThat(actual.media()).as("media").isEqualTo(expected.media());
    }

    private static void assertSameBundle(KeyBundle actual, KeyBundle expected) {
        assertThat(actual.identityKey()).as("identityKey").isEqualTo(expected.identityKey());
        assertThat(actual.agreementKey()).as("agreementKey").isEqualTo(expected.agreementKey());
        assertThat(actual.signature()).as("signature").isEqualTo(expected.signature());
        assertThat(actual.identityDhKey()).as("identityDhKey").isEqualTo(expected.identityDhKey());
        assertThat(actual.identityDhSignature()).as("identityDhSignature").isEqualTo(expected.identityDhSignature());
        assertThat(actual.signedPreKeyId()).as("signedPreKeyId").isEqualTo(expected.signedPreKeyId());
    }

    /** Waits for {@code latch}, failing the task instead of hanging when it never opens. */
    private static void await(CountDownLatch latch) throws InterruptedException, TimeoutException {
        if (!latch.await(WAIT_SECONDS, TimeUnit.SECONDS)) {
            throw new TimeoutException("Start signal not given within " + WAIT_SECONDS + " s");
        }
    }

    /**
     * Runs {@code tasks} on their own threads, all released at once; waits (bounded) for every
     * one and rethrows the first failure. {@code stop} is set once the tasks listed in
     * {@code finishers} are done, or on failure, so that looping readers end.
     */
    private static void runConcurrently(List<Callable<?>> finishers, List<Callable<?>> loopers, AtomicBoolean stop)
        throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(finishers.size() + loopers.size());
        CountDownLatch go = new CountDownLatch(1);
        boolean terminated;
        try {
            List<Future<?>> finishing = new ArrayList<>();
            List<Future<?>> looping = new ArrayList<>();
            for (Callable<?> task : finishers) {
                finishing.add(pool.submit(() -> {
                    await(go);
                    return task.call();
                }));
            }
            for (Callable<?> task : loopers) {
                looping.add(pool.submit(() -> {
                    await(go);
                    return task.call();
                }));
            }
            go.countDown();
            for (Future<?> f : finishing) {
                f.get(WAIT_SECONDS, TimeUnit.SECONDS);
            }
            stop.set(true);
            for (Future<?> f : looping) {
                f.get(WAIT_SECONDS, TimeUnit.SECONDS);
            }
        } finally {
            stop.set(true);
            pool.shutdownNow();
            terminated = pool.awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS);
        }
        assertThat(terminated).as("every test thread ended").isTrue();
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
        InboxEntry entry = backend.messages().entry(BOB, 1).orElseThrow();
        assertThat(entry.state()).isEqualTo(InboxEntry.State.PENDING);
        assertSameMessage(entry.message(), m);
    }

    @Test
    void shouldReturnNothingForAnInboxNeverWrittenTo() {
        commit(new WriteBatch().append(BOB, message(1)));

        assertThat(backend.messages().pending(CAROL, 0, 10)).isEmpty();
        assertThat(backend.messages().pendingCount(CAROL)).isZero();
        assertThat(backend.messages().entry(CAROL, 1)).isEmpty();
        assertThat(backend.messages().entry(BOB, 2)).isEmpty();
    }

    @Test
    void shouldReturnPendingInServerIdOrderWhateverTheAppendOrder() {
        commit(new WriteBatch().append(BOB, message(30)).append(BOB, message(10)));
        commit(new WriteBatch().append(BOB, message(20)).append(BOB, message(5)));
        commit(new WriteBatch().append(BOB, message(25)));

        assertThat(pendingIds(BOB)).containsExactly(5L, 10L, 20L, 25L, 30L);
        assertThat(backend.messages().pendingCount(BOB)).isEqualTo(5);
    }

    @Test
    void shouldSeeEveryAppendWhateverWasReadOrAcknowledgedBefore() {
        commit(new WriteBatch().append(BOB, message(10)).append(BOB, message(11)));
        assertThat(pendingIds(BOB)).containsExactly(10L, 11L);
        commit(new WriteBatch().markDelivered(BOB, 10, DELIVERED_AT).remove(BOB, 11));
        assertThat(pendingIds(BOB)).isEmpty();
        // A backend that caches where an inbox starts must not hide later appends, even lower ids.
        commit(new WriteBatch().append(BOB, message(5)).append(BOB, message(20)));
        assertThat(pendingIds(BOB)).containsExactly(5L, 20L);
        assertThat(backend.messages().pending(BOB, 5, 10)).extracting(StoredMessage::serverId).containsExactly(20L);
    }

    @Test
    void shouldHonourAfterServerIdAndLimit() {
        commit(batchOf(BOB, 1, 10));

        assertThat(ids(backend.messages().pending(BOB, 3, 4))).containsExactly(4L, 5L, 6L, 7L);
        assertThat(ids(backend.messages().pending(BOB, 8, 4))).containsExactly(9L, 10L);
        assertThat(ids(backend.messages().pending(BOB, 0, 1))).containsExactly(1L);
        assertThat(backend.messages().pending(BOB, 10, 4)).isEmpty();
        assertThat(backend.messages().pending(BOB, Long.MAX_VALUE, 4)).isEmpty();
    }

    @Test
    void shouldCountOnlyPendingEntriesTowardsTheLimit() {
        commit(batchOf(BOB, 1, 10));
        commit(new WriteBatch().markDelivered(BOB, 2, DELIVERED_AT).markDelivered(BOB, 3, DELIVERED_AT)
            .markDelivered(BOB, 4, DELIVERED_AT).remove(BOB, 6));

        // Delivered and removed entries are skipped, never returned and never counted: a short
        // page would make the router believe the inbox is drained.
        assertThat(ids(backend.messages().pending(BOB, 0, 3))).containsExactly(1L, 5L, 7L);
        assertThat(ids(backend.messages().pending(BOB, 1, 2))).containsExactly(5L, 7L);
        assertThat(backend.messages().pendingCount(BOB)).isEqualTo(6);
    }

    @Test
    void shouldCountPendingEntriesAndTheirContentBytes() {
        // More entries than one page of the SPI's default, content of every kind, a receipt (no
        // content), and entries that leave the pending inbox: only what is pending counts.
        WriteBatch batch = new WriteBatch();
        long bytes = 0;
        for (long id = 1; id <= 2_500; id++) {
            StoredMessage m = message(id, ALICE, "bob", "c-" + id, id % 2 == 0 ? "text/plain" : "text/é",
                new byte[(int) (id % 7)], id % 3 == 0 ? new byte[5] : null);
            batch.append(BOB, m);
            if (id > 4) {
                bytes += m.payload().length + m.media().length + (id % 2 == 0 ? 10 : 7);
            }
        }
        batch.append(BOB, StoredMessage.receipt(2_501, MessageKind.RECEIPT_DELIVERED, message(1), BOB, 5_000));
        commit(batch);
        commit(new WriteBatch().markDelivered(BOB, 1, DELIVERED_AT).markDelivered(BOB, 2, DELIVERED_AT).remove(BOB, 3)
            .remove(BOB, 4));

        assertThat(backend.messages().pendingUsage(BOB)).isEqualTo(new InboxUsage(2_497, bytes));
        assertThat(backend.messages().pendingUsage(BOB).entries()).isEqualTo(backend.messages().pendingCount(BOB));
        assertThat(backend.messages().pendingUsage(CAROL)).isEqualTo(InboxUsage.EMPTY);
    }

    @Test
    void shouldRefuseANonPositiveLimit() {
        assertThatThrownBy(() -> backend.messages().pending(BOB, 0, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> backend.messages().pending(BOB, 0, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldKeepInboxesOfDevicesAndUsersApart() {
        commit(new WriteBatch().append(BOB, message(1)).append(BOB_LAPTOP, message(2)).append(ALICE, message(3)));

        assertThat(pendingIds(BOB)).containsExactly(1L);
        assertThat(pendingIds(BOB_LAPTOP)).containsExactly(2L);
        assertThat(pendingIds(ALICE)).containsExactly(3L);
        assertThat(pendingIds(ALICE_LAPTOP)).isEmpty();
        assertThat(backend.messages().entry(BOB, 2)).isEmpty();
        assertThat(backend.messages().entry(BOB_LAPTOP, 1)).isEmpty();
        assertThat(backend.messages().pendingCount(BOB)).isEqualTo(1);
    }

    @Test
    void shouldKeepDeviceCopiesOfOneSendIndependent() {
        // One send reaches every device of the recipient, and the sender's other devices, under
        // one server id: acknowledging or removing one copy must leave the others alone.
        StoredMessage m = message(7);
        commit(new WriteBatch().append(BOB, m).append(BOB_LAPTOP, m).append(ALICE_LAPTOP, m));
        commit(new WriteBatch().markDelivered(BOB, 7, DELIVERED_AT).remove(ALICE_LAPTOP, 7));

        assertThat(stateOf(BOB, 7)).isEqualTo(InboxEntry.State.DELIVERED);
        assertThat(stateOf(BOB_LAPTOP, 7)).isEqualTo(InboxEntry.State.PENDING);
        assertThat(backend.messages().entry(ALICE_LAPTOP, 7)).isEmpty();
        assertThat(pendingIds(BOB)).isEmpty();
        assertSameMessage(backend.messages().pending(BOB_LAPTOP, 0, 10).get(0), m);
    }

    @Test
    void shouldMarkDeliveredKeepingIdsAndSender() {
        StoredMessage m = message(1);
        commit(new WriteBatch().append(BOB, m).append(BOB, message(2)));
        commit(new WriteBatch().markDelivered(BOB, 1, DELIVERED_AT));

        assertThat(pendingIds(BOB)).containsExactly(2L);
        assertThat(backend.messages().pendingCount(BOB)).isEqualTo(1);
        InboxEntry entry = backend.messages().entry(BOB, 1).orElseThrow();
        assertThat(entry.state()).isEqualTo(InboxEntry.State.DELIVERED);
        // The payload may be dropped; the ids and the sender must stay, to route a read receipt.
        assertThat(entry.message().serverId()).isEqualTo(1);
        assertThat(entry.message().kind()).isEqualTo(MessageKind.MESSAGE);
        assertThat(entry.message().sender()).isEqualTo(ALICE);
        assertThat(entry.message().recipient()).isEqualTo("bob");
        assertThat(entry.message().clientMessageId()).isEqualTo("c-1");
    }

    @Test
    void shouldTreatMarkingDeliveredTwiceOrWhenAbsentAsNoOp() {
        commit(new WriteBatch().append(BOB, message(1)));
        commit(new WriteBatch().markDelivered(BOB, 1, DELIVERED_AT));
        commit(new WriteBatch().markDelivered(BOB, 1, DELIVERED_AT).markDelivered(BOB, 99, DELIVERED_AT)
            .markDelivered(CAROL, 1, DELIVERED_AT));

        assertThat(stateOf(BOB, 1)).isEqualTo(InboxEntry.State.DELIVERED);
        assertThat(backend.messages().entry(BOB, 99)).isEmpty();
        assertThat(backend.messages().entry(CAROL, 1)).isEmpty();
        assertThat(pendingIds(BOB)).isEmpty();
    }

    @Test
    void shouldRemoveEntriesAndIgnoreAbsentOnes() {
        commit(new WriteBatch().append(BOB, message(1)).append(BOB, message(2)).append(BOB, message(3)));
        commit(new WriteBatch().markDelivered(BOB, 3, DELIVERED_AT));
        commit(new WriteBatch().remove(BOB, 1).remove(BOB, 3).remove(BOB, 99).remove(ALICE, 2).remove(CAROL, 1));

        assertThat(backend.messages().entry(BOB, 1)).as("pending entry removed").isEmpty();
        assertThat(backend.messages().entry(BOB, 3)).as("delivered entry removed").isEmpty();
        assertThat(pendingIds(BOB)).containsExactly(2L);
        assertThat(backend.messages().pendingCount(BOB)).isEqualTo(1);
    }

    @Test
    void shouldApplyOperationsOfOneBatchInOrder() {
        commit(new WriteBatch().append(BOB, message(1)).markDelivered(BOB, 1, DELIVERED_AT).append(BOB, message(2))
            .remove(BOB, 2)
            .append(BOB, message(3)));

        assertThat(stateOf(BOB, 1)).isEqualTo(InboxEntry.State.DELIVERED);
        assertThat(backend.messages().entry(BOB, 2)).isEmpty();
        assertThat(pendingIds(BOB)).containsExactly(3L);
    }

    @Test
    void shouldApplyARemoveBeforeALaterAppendOfTheSameIdInBatchOrder() {
        StoredMessage first = message(1);
        StoredMessage second = message(1, CAROL, "bob", "again", "text/plain", new byte[] {42}, new byte[0]);
        commit(new WriteBatch().append(BOB, first));
        // In order: remove the entry, then append it again. Applied by kind of operation instead
        // (every append, then every remove) the inbox would end up empty.
        commit(new WriteBatch().remove(BOB, 1).append(BOB, second));

        assertThat(stateOf(BOB, 1)).isEqualTo(InboxEntry.State.PENDING);
        assertSameMessage(backend.messages().pending(BOB, 0, 10).get(0), second);
    }

    @Test
    void shouldAcceptAnEmptyBatch() {
        commit(new WriteBatch());

        assertThat(backend.messages().highestServerId()).isZero();
        assertThat(pendingIds(BOB)).isEmpty();
    }

    @Test
    void shouldKeepACommittedBatchWhenTheCallerClearsAndReusesIt() {
        // The router's writer thread clears and refills one batch: the store must not keep it.
        WriteBatch batch = new WriteBatch().append(BOB, message(1)).recordSend(ALICE, "c-1", new AcceptedSend(1, 10));
        commit(batch);
        batch.clear();
        batch.append(BOB, message(2));
        commit(batch);
        batch.clear();

        assertThat(pendingIds(BOB)).containsExactly(1L, 2L);
        assertThat(backend.messages().acceptedSend(ALICE, "c-1")).contains(new AcceptedSend(1, 10));
    }

    @Test
    void shouldRoundTripReceiptsOfBothKinds() {
        StoredMessage original = message(1);
        StoredMessage delivered = StoredMessage.receipt(2, MessageKind.RECEIPT_DELIVERED, original, BOB_LAPTOP, 4_000);
        StoredMessage read = StoredMessage.receipt(3, MessageKind.RECEIPT_READ, original, BOB, 5_000);
        commit(new WriteBatch().append(ALICE, delivered).append(ALICE, read));

        List<StoredMessage> stored = backend.messages().pending(ALICE, 0, 10);
        assertThat(stored).hasSize(2);
        assertSameMessage(stored.get(0), delivered);
        assertSameMessage(stored.get(1), read);
        assertThat(stored.get(0).kind()).isEqualTo(MessageKind.RECEIPT_DELIVERED);
        assertThat(stored.get(1).kind()).isEqualTo(MessageKind.RECEIPT_READ);
        assertThat(stored).allSatisfy(r -> {
            assertThat(r.isReceipt()).isTrue();
            assertThat(r.refServerId()).isEqualTo(1);
            assertThat(r.recipient()).isEqualTo("alice");
            assertThat(r.clientMessageId()).isEqualTo("c-1");
        });
        assertThat(stored.get(0).sender()).isEqualTo(BOB_LAPTOP);
        assertThat(stored.get(1).sender()).isEqualTo(BOB);
    }

    @Test
    void shouldRoundTripPayloadsFromZeroBytesToOneMebibyte() {
        Random random = new Random(7);
        int[] payloadSizes = {0, 1, 64 * 1024, 1024 * 1024};
        int[] mediaSizes = {0, 3, 1024, 200};
        String[] contentTypes = {"text/plain; charset=utf-8", "application/octet-stream", "image/jpeg",
            "application/x-courier-encrypted"};
        List<StoredMessage> written = new ArrayList<>();
        WriteBatch batch = new WriteBatch();
        for (int i = 0; i < payloadSizes.length; i++) {
            byte[] payload = new byte[payloadSizes[i]];
            random.nextBytes(payload);
            byte[] media = new byte[mediaSizes[i]];
            random.nextBytes(media);
            StoredMessage m = message(i + 1, ALICE, "bob", "size-" + payloadSizes[i], contentTypes[i], payload, media);
            written.add(m);
            batch.append(BOB, m);
        }
        commit(batch);

        List<StoredMessage> read = backend.messages().pending(BOB, 0, 10);
        assertThat(read).hasSize(payloadSizes.length);
        for (int i = 0; i < payloadSizes.length; i++) {
            assertSameMessage(read.get(i), written.get(i));
            assertSameMessage(backend.messages().entry(BOB, i + 1).orElseThrow().message(), written.get(i));
        }
    }

    // ---------------------------------------------------------------- de-duplication and ids

    @Test
    void shouldRememberAcceptedSendsPerSenderDevice() {
        commit(new WriteBatch().recordSend(ALICE, "c-1", new AcceptedSend(7, 1234))
            .recordSend(ALICE_LAPTOP, "c-2", new AcceptedSend(8, 1235)));

        assertThat(backend.messages().acceptedSend(ALICE, "c-1")).contains(new AcceptedSend(7, 1234));
        assertThat(backend.messages().acceptedSend(ALICE_LAPTOP, "c-2")).contains(new AcceptedSend(8, 1235));
        assertThat(backend.messages().acceptedSend(ALICE, "c-2")).isEmpty();
        assertThat(backend.messages().acceptedSend(ALICE_LAPTOP, "c-1")).isEmpty();
        assertThat(backend.messages().acceptedSend(BOB, "c-1")).isEmpty();
    }

    @Test
    void shouldListTheDevicesOfManyUsersAtOnceAsOneByOne() {
        backend.devices().register(ALICE_LAPTOP);
        backend.devices().register(BOB_LAPTOP);
        backend.devices().register(BOB);

        Map<String, List<DeviceId>> found = backend.devices().devices(List.of("alice", "bob", "carol", "alice"));

        assertThat(found).containsOnlyKeys("alice", "bob", "carol");
        for (String user : found.keySet()) {
            assertThat(found.get(user)).as(user).isEqualTo(backend.devices().devices(user));
        }
        assertThat(found.get("carol")).containsExactly(CAROL);
        assertThat(backend.devices().devices(List.of())).isEmpty();
    }

    @Test
    void shouldReadManyEntriesAtOnceAsOneByOne() {
        commit(new WriteBatch().append(BOB, message(1)).append(BOB, message(2)).append(BOB, message(3))
            .append(ALICE_LAPTOP, message(2)).markDelivered(BOB, 2, 5_000).remove(BOB, 3));
        List<EntryId> asked = List.of(new EntryId(BOB, 1), new EntryId(BOB, 2), new EntryId(BOB, 3),
            new EntryId(ALICE_LAPTOP, 2), new EntryId(ALICE, 2), new EntryId(BOB, 99), new EntryId(BOB, 1));

        Map<EntryId, InboxEntry> found = backend.messages().entries(asked);

        assertThat(found.keySet()).containsExactlyInAnyOrder(new EntryId(BOB, 1), new EntryId(BOB, 2),
            new EntryId(ALICE_LAPTOP, 2));
        for (EntryId id : asked) {
            Optional<InboxEntry> one = backend.messages().entry(id.owner(), id.serverId());
            assertThat(found.get(id) == null).as("%s absent", id).isEqualTo(one.isEmpty());
            if (one.isPresent()) {
                assertThat(found.get(id).state()).as("%s state", id).isEqualTo(one.get().state());
                assertSameMessage(found.get(id).message(), one.get().message());
            }
        }
        assertThat(found.get(new EntryId(BOB, 2)).state()).isEqualTo(InboxEntry.State.DELIVERED);
        assertSameMessage(found.get(new EntryId(BOB, 1)).message(), message(1));
        assertThat(backend.messages().entries(List.of())).isEmpty();
    }

    @Test
    void shouldReadManySendsAtOnceAsOneByOne() {
        commit(new WriteBatch().recordSend(ALICE, "c-1", new AcceptedSend(7, 1234))
            .recordSend(ALICE_LAPTOP, "c-2", new AcceptedSend(8, 1235))
            .recordSend(BOB, "c-1", new AcceptedSend(9, 1236)));
        List<SendId> asked = List.of(new SendId(ALICE, "c-1"), new SendId(ALICE, "c-2"),
            new SendId(ALICE_LAPTOP, "c-2"), new SendId(ALICE_LAPTOP, "c-1"), new SendId(BOB, "c-1"),
            new SendId(BOB, "never"), new SendId(ALICE, "c-1"));

        Map<SendId, AcceptedSend> found = backend.messages().acceptedSends(asked);

        assertThat(found).containsOnly(entry(new SendId(ALICE, "c-1"), new AcceptedSend(7, 1234)),
            entry(new SendId(ALICE_LAPTOP, "c-2"), new AcceptedSend(8, 1235)),
            entry(new SendId(BOB, "c-1"), new AcceptedSend(9, 1236)));
        for (SendId send : asked) {
            assertThat(Optional.ofNullable(found.get(send)))
                .isEqualTo(backend.messages().acceptedSend(send.sender(), send.clientMessageId()));
        }
        assertThat(backend.messages().acceptedSends(List.of())).isEmpty();
    }

    // ---------------------------------------------------------------- several servers on one store

    /**
     * Two servers (two backends opened on the same configuration, each its own connections) write
     * batches into one inbox at once, and each into one of its own, numbering each from
     * {@link MessageStore#beginBatch}, while a device drains the shared inbox as a device does:
     * always after the highest id it has seen. Every id committed is unique, and the drain finds
     * every one: no entry ever appeared below an id the drain had already seen.
     */
    @Test
    void shouldNumberTheBatchesOfServersSharingTheStoreUniquelyAndInIdOrder() throws Exception {
        assumeTrue(backend.messages().isShared(), "the backend is not shared by several servers");
        int batchesEach = 150;
        try (StorageBackend other = open(config(dataDirectory))) {
            List<StorageBackend> servers = List.of(backend, other);
            List<List<Long>> committed = List.of(new ArrayList<>(), new ArrayList<>());
            // Each batch's first id with the highest id it found in the shared inbox, when it said.
            List<List<long[]>> highest = List.of(new ArrayList<>(), new ArrayList<>());
            List<Long> drained = new ArrayList<>();
            AtomicBoolean stop = new AtomicBoolean();
            List<Callable<?>> writers = new ArrayList<>();
            for (int w = 0; w < servers.size(); w++) {
                MessageStore store = servers.get(w).messages();
                List<Long> mine = committed.get(w);
                List<long[]> found = highest.get(w);
                DeviceId sender = w == 0 ? ALICE : ALICE_LAPTOP;
                DeviceId own = w == 0 ? CAROL : BOB_LAPTOP;
                writers.add(() -> {
                    for (int b = 0; b < batchesEach; b++) {
                        int size = 1 + b % 3;
                        long[] ids = store.beginBatch(List.of(BOB, own), size + 1);
                        assertThat(ids).as("as many as asked, ascending").hasSize(size + 1).isSorted()
                            .doesNotHaveDuplicates();
                        Long before = store.lockedHighestIds().get(BOB);
                        if (before != null) {
                            found.add(new long[] {ids[0], before});
                        }
                        WriteBatch batch = new WriteBatch();
                        for (int i = 0; i < size; i++) {
                            batch.append(BOB, message(ids[i], sender, "bob", "c-" + ids[i], "text/plain", new byte[] {1},
                                null));
                        }
                        batch.append(own, message(ids[size], sender, own.user(), "o-" + b, "text/plain",
                            new byte[] {2}, null));
                        batch.recordSend(sender, "batch-" + b, new AcceptedSend(ids[size], 1_000));
                        store.commit(batch);
                        Arrays.stream(ids, 0, size).forEach(mine::add);
                    }
                    return null;
                });
            }
            Callable<?> device = () -> {
                long after = 0;
                while (!stop.get()) {
                    for (StoredMessage m : backend.messages().pending(BOB, after, 100)) {
                        drained.add(m.serverId());
                        after = m.serverId();
                    }
                }
                return null;
            };
            runConcurrently(writers, List.of(device), stop);
            long after = drained.isEmpty() ? 0 : drained.get(drained.size() - 1);
            backend.messages().pending(BOB, after, Integer.MAX_VALUE).forEach(m -> drained.add(m.serverId()));

            List<Long> all = new ArrayList<>(committed.get(0));
            all.addAll(committed.get(1));
            assertThat(all).as("ids committed by both servers").doesNotHaveDuplicates();
            assertThat(pendingIds(BOB)).as("the inbox holds every committed id").containsExactlyInAnyOrderElementsOf(all);
            assertThat(drained).as("a device draining after the highest id it saw finds every entry, in id order")
                .isSorted().containsExactlyInAnyOrderElementsOf(all);
            for (List<long[]> pairs : highest) {
                for (long[] pair : pairs) {
                    long below = all.stream().filter(id -> id < pair[0]).max(Long::compare).orElse(0L);
                    assertThat(pair[1]).as("the highest id in the shared inbox that the batch numbered from %d found"
                        + " under its locks: every entry below its ids was committed before", pair[0]).isEqualTo(below);
                }
            }
            assertThat(pendingIds(CAROL)).hasSize(batchesEach).isSorted();
            assertThat(pendingIds(BOB_LAPTOP)).hasSize(batchesEach).isSorted()
                .doesNotContainAnyElementsOf(pendingIds(CAROL));
            assertThat(other.messages().beginBatch(List.of(), 1)[0]).as("ids go on above every one reserved")
                .isGreaterThan(Collections.max(all));
            other.messages().abortBatch();
        }
    }

    /**
     * {@link MessageStore#lockedHighestIds}: 0 for an empty inbox, then the highest id of any
     * entry still in it, delivered ones too, whatever server committed it; and nothing outside a batch.
     */
    @Test
    void shouldTellABatchTheHighestIdInEachInboxItLocked() throws Exception {
        assumeTrue(backend.messages().isShared(), "the backend is not shared by several servers");
        MessageStore store = backend.messages();
        long[] reserved = store.beginBatch(List.of(BOB, CAROL), 2);
        assertThat(store.lockedHighestIds()).as("empty inboxes").containsOnly(Map.entry(BOB, 0L), Map.entry(CAROL, 0L));
        store.commit(new WriteBatch().append(BOB, message(reserved[0])).append(BOB, message(reserved[1])));
        assertThat(store.lockedHighestIds()).as("outside a batch").isEmpty();

        long next;
        try (StorageBackend other = open(config(dataDirectory))) {
            next = other.messages().beginBatch(List.of(BOB), 1)[0];
            assertThat(other.messages().lockedHighestIds()).as("what another server committed")
                .containsExactly(Map.entry(BOB, reserved[1]));
            other.messages().commit(new WriteBatch().append(BOB, message(next)).markDelivered(BOB, reserved[1], 5)
                .markDelivered(BOB, next, 5));
        }
        store.beginBatch(List.of(BOB, ALICE), 0);
        assertThat(store.lockedHighestIds()).as("a delivered entry still counts")
            .containsOnly(Map.entry(BOB, next), Map.entry(ALICE, 0L));
        store.abortBatch();
        assertThat(store.lockedHighestIds()).as("after an abort").isEmpty();
    }

    @Test
    void shouldLetAnotherServerBeginOnAnInboxOnceABatchOnItIsAborted() throws Exception {
        assumeTrue(backend.messages().isShared(), "the backend is not shared by several servers");
        try (StorageBackend other = open(config(dataDirectory))) {
            long first = backend.messages().beginBatch(List.of(BOB), 1)[0];
            backend.messages().abortBatch();
            ExecutorService thread = Executors.newSingleThreadExecutor();
            long second;
            try {
                Future<Long> begun = thread.submit(() -> other.messages().beginBatch(List.of(BOB), 1)[0]);
                second = begun.get(WAIT_SECONDS, TimeUnit.SECONDS);
                assertThat(second).as("an aborted batch's ids are not used again").isGreaterThan(first);
                thread.submit(() -> other.messages().commit(new WriteBatch().append(BOB, message(second))))
                    .get(WAIT_SECONDS, TimeUnit.SECONDS);
            } finally {
                thread.shutdownNow();
            }
            assertThat(backend.messages().beginBatch(List.of(BOB), 1)[0]).isGreaterThan(second);
            backend.messages().abortBatch();
            assertThat(pendingIds(BOB)).containsExactly(second);
        }
    }

    @Test
    void shouldBeginABatchOnAThousandInboxesAsOnOne() throws Exception {
        assumeTrue(backend.messages().isShared(), "the backend is not shared by several servers");
        List<DeviceId> inboxes = IntStream.range(0, 1_000).mapToObj(i -> DeviceId.primary("user" + i)).toList();
        long first;
        long last;
        try (StorageBackend other = open(config(dataDirectory))) {
            long[] ids = backend.messages().beginBatch(inboxes, inboxes.size());
            first = ids[0];
            last = ids[ids.length - 1];
            WriteBatch batch = new WriteBatch();
            for (int i = 0; i < inboxes.size(); i++) {
                batch.append(inboxes.get(i), message(ids[i]));
            }
            ExecutorService thread = Executors.newSingleThreadExecutor();
            try {
                // Another server's batch on one of those inboxes begins once this one has committed.
                Future<Long> next = thread.submit(() -> other.messages().beginBatch(List.of(inboxes.get(7)), 1)[0]);
                backend.messages().commit(batch);
                assertThat(next.get(WAIT_SECONDS, TimeUnit.SECONDS)).isGreaterThan(last);
                thread.submit(() -> other.messages().abortBatch()).get(WAIT_SECONDS, TimeUnit.SECONDS);
            } finally {
                thread.shutdownNow();
            }
        }
        assertThat(pendingIds(inboxes.get(999))).containsExactly(last);
        assertThat(pendingIds(inboxes.get(0))).containsExactly(first);
    }

    /**
     * One server numbers in memory and records its highest id; a cluster's batches reserve theirs:
     * whichever used the store last, the other numbers above it.
     */
    @Test
    void shouldNumberAbovePlainCommitsAndReservationsAlike() throws Exception {
        assumeTrue(backend.messages().isShared(), "the backend is not shared by several servers");
        commit(new WriteBatch().append(BOB, message(500)));
        long reserved;
        try (StorageBackend cluster = open(config(dataDirectory))) {
            reserved = cluster.messages().beginBatch(List.of(BOB), 3)[2];
            assertThat(reserved).as("a reservation after one server's commit").isGreaterThan(500);
            cluster.messages().abortBatch();
        }
        try (StorageBackend single = open(config(dataDirectory))) {
            assertThat(single.messages().highestServerId()).as("a server that starts after a reservation")
                .isGreaterThanOrEqualTo(reserved);
            single.messages().commit(new WriteBatch().append(BOB, message(reserved + 1_000)));
        }
        try (StorageBackend cluster = open(config(dataDirectory))) {
            assertThat(cluster.messages().beginBatch(List.of(), 1)[0]).as("a reservation after that server's commit")
                .isGreaterThan(reserved + 1_000);
            cluster.messages().abortBatch();
        }
    }

    @Test
    void shouldKeepADeviceRegisteredDuringABatchThatWroteNothing() {
        assumeTrue(backend.messages().isShared(), "the backend is not shared by several servers");
        backend.messages().beginBatch(List.of(BOB), 0);
        backend.devices().register(BOB_LAPTOP); // durable when it returns, whatever becomes of the batch
        assertThat(backend.devices().devices("bob")).as("seen within the batch").contains(BOB_LAPTOP);
        backend.messages().abortBatch();

        assertThat(backend.devices().devices("bob")).containsExactly(BOB, BOB_LAPTOP);
    }

    @Test
    void shouldTolerateRecordingTheSameSendTwice() {
        commit(new WriteBatch().recordSend(ALICE, "c-1", new AcceptedSend(7, 1234)));
        commit(new WriteBatch().recordSend(ALICE, "c-1", new AcceptedSend(7, 1234)));
        commit(new WriteBatch().recordSend(ALICE, "c-1", new AcceptedSend(7, 1234))
            .recordSend(ALICE, "c-1", new AcceptedSend(7, 1234)));

        assertThat(backend.messages().acceptedSend(ALICE, "c-1")).contains(new AcceptedSend(7, 1234));
        assertThat(backend.messages().highestServerId()).isEqualTo(7);
    }

    @Test
    void shouldTrackTheHighestServerIdOfAppendsSendsAndAdvances() {
        assertThat(backend.messages().highestServerId()).as("empty store").isZero();
        commit(new WriteBatch().append(BOB, message(5)));
        assertThat(backend.messages().highestServerId()).isEqualTo(5);
        commit(new WriteBatch().recordSend(ALICE, "x", new AcceptedSend(9, 1)));
        assertThat(backend.messages().highestServerId()).isEqualTo(9);
        commit(new WriteBatch().advanceServerId(20));
        assertThat(backend.messages().highestServerId()).isEqualTo(20);
        // Never lowered: not by a smaller advance, an older append, nor by removing the entry.
        commit(new WriteBatch().advanceServerId(3).append(BOB, message(4)).remove(BOB, 5)
            .markDelivered(BOB, 4, DELIVERED_AT));
        assertThat(backend.messages().highestServerId()).isEqualTo(20);
        commit(new WriteBatch().append(BOB_LAPTOP, message(21)).advanceServerId(22).recordSend(ALICE, "y",
            new AcceptedSend(21, 2)));
        assertThat(backend.messages().highestServerId()).isEqualTo(22);
    }

    // ---------------------------------------------------------------- retention

    private static final long T0 = 1_700_000_000_000L;
    private static final Duration DEDUP_WINDOW = Duration.ofDays(7);
    private static final Duration RETENTION = Duration.ofDays(30);
    private static final RetentionPolicy POLICY = new RetentionPolicy(DEDUP_WINDOW, RETENTION, 1_000);

    /** The retention tests' clock: moved by hand, never read from the wall. */
    private static final class ManualClock extends Clock {
        private long millis;

        ManualClock(long millis) {
            this.millis = millis;
        }

        void advance(Duration by) {
            millis += by.toMillis();
        }

        @Override
        public long millis() {
            return millis;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException("the test clock has no zone");
        }
    }

    private RetentionPolicy.Expired expireAt(Clock clock) {
        return POLICY.expire(backend.messages(), clock.millis());
    }

    @Test
    void shouldAnswerARepeatedSendWithTheSameIdWithinTheDedupWindow() {
        ManualClock clock = new ManualClock(T0);
        commit(new WriteBatch().append(BOB, message(7)).recordSend(ALICE, "c-7", new AcceptedSend(7, clock.millis())));

        clock.advance(DEDUP_WINDOW.minusMillis(1));
        expireAt(clock);

        Optional<AcceptedSend> prior = backend.messages().acceptedSend(ALICE, "c-7");
        assertThat(prior).as("the record, one millisecond before its window ends").contains(new AcceptedSend(7, T0));
        assertThat(POLICY.isWithinDedupWindow(prior.orElseThrow(), clock.millis())).isTrue();
    }

    @Test
    void shouldTreatASendAfterTheDedupWindowAsNew() {
        ManualClock clock = new ManualClock(T0);
        commit(new WriteBatch().recordSend(ALICE, "c-1", new AcceptedSend(1, clock.millis())));
        clock.advance(Duration.ofDays(1));
        commit(new WriteBatch().recordSend(ALICE, "c-2", new AcceptedSend(2, clock.millis())));

        clock.advance(DEDUP_WINDOW.minusDays(1));
        // Outside its window even before expiry has run: the router treats the send as new.
        assertThat(POLICY.isWithinDedupWindow(backend.messages().acceptedSend(ALICE, "c-1").orElseThrow(), clock.millis()))
            .isFalse();
        assertThat(expireAt(clock).sends()).isEqualTo(1);
        assertThat(backend.messages().acceptedSend(ALICE, "c-1")).as("expired").isEmpty();
        assertThat(backend.messages().acceptedSend(ALICE, "c-2")).as("a day younger").contains(new AcceptedSend(2, T0 + DAY));

        // The same client id again: a new message with a new id and a new window.
        commit(new WriteBatch().recordSend(ALICE, "c-1", new AcceptedSend(3, clock.millis())));
        clock.advance(Duration.ofDays(1));
        expireAt(clock);
        assertThat(backend.messages().acceptedSend(ALICE, "c-1")).contains(new AcceptedSend(3, T0 + 7 * DAY));
        assertThat(backend.messages().acceptedSend(ALICE, "c-2")).isEmpty();
    }

    @Test
    void shouldKeepASendRecordedAgainUntilItsOwnWindowEnds() {
        ManualClock clock = new ManualClock(T0);
        commit(new WriteBatch().recordSend(ALICE, "c-1", new AcceptedSend(1, clock.millis())));
        clock.advance(DEDUP_WINDOW.plusDays(1));
        // Recorded again before expiry ran: whatever index the backend keeps still has the first
        // time, which is due; the record it points at is not.
        commit(new WriteBatch().recordSend(ALICE, "c-1", new AcceptedSend(2, clock.millis())));
        expireAt(clock);
        assertThat(backend.messages().acceptedSend(ALICE, "c-1")).contains(new AcceptedSend(2, T0 + 8 * DAY));

        clock.advance(DEDUP_WINDOW.minusMillis(1));
        expireAt(clock);
        assertThat(backend.messages().acceptedSend(ALICE, "c-1")).contains(new AcceptedSend(2, T0 + 8 * DAY));
        clock.advance(Duration.ofMillis(1));
        expireAt(clock);
        assertThat(backend.messages().acceptedSend(ALICE, "c-1")).isEmpty();
    }

    @Test
    void shouldRemoveDeliveredEntriesOnceRead() {
        ManualClock clock = new ManualClock(T0);
        commit(batchOf(BOB, 1, 3));
        commit(new WriteBatch().markDelivered(BOB, 1, clock.millis()).markDelivered(BOB, 2, clock.millis()));
        // A read receipt removes the entry, delivered (1) or still pending (3).
        commit(new WriteBatch().remove(BOB, 1).remove(BOB, 3));

        assertThat(backend.messages().entry(BOB, 1)).as("delivered, then read").isEmpty();
        assertThat(backend.messages().entry(BOB, 3)).as("read before its ack").isEmpty();
        assertThat(stateOf(BOB, 2)).as("delivered, never read").isEqualTo(InboxEntry.State.DELIVERED);

        clock.advance(RETENTION);
        expireAt(clock);
        assertThat(backend.messages().entry(BOB, 1)).isEmpty();
        assertThat(backend.messages().entry(BOB, 2)).isEmpty();
        assertThat(pendingIds(BOB)).isEmpty();
        assertThat(POLICY.expire(backend.messages(), clock.millis()))
            .as("a second pass finds nothing").isEqualTo(new RetentionPolicy.Expired(0, 0, 2));
    }

    @Test
    void shouldExpireDeliveredNeverReadEntriesAfterTheRetention() {
        ManualClock clock = new ManualClock(T0);
        commit(batchOf(BOB, 1, 3).append(BOB_LAPTOP, message(1)));
        commit(new WriteBatch().markDelivered(BOB, 1, clock.millis()).markDelivered(BOB_LAPTOP, 1, clock.millis()));
        clock.advance(Duration.ofDays(1));
        commit(new WriteBatch().markDelivered(BOB, 2, clock.millis()));

        clock.advance(RETENTION.minusDays(1).minusMillis(1));
        expireAt(clock);
        assertThat(stateOf(BOB, 1)).as("one millisecond before its retention ends").isEqualTo(InboxEntry.State.DELIVERED);
        assertThat(backend.messages().entry(BOB, 1).orElseThrow().message().sender()).isEqualTo(ALICE);
        assertThat(stateOf(BOB_LAPTOP, 1)).isEqualTo(InboxEntry.State.DELIVERED);

        clock.advance(Duration.ofMillis(1));
        assertThat(expireAt(clock).delivered()).isEqualTo(2);
        assertThat(backend.messages().entry(BOB, 1)).isEmpty();
        assertThat(backend.messages().entry(BOB_LAPTOP, 1)).as("every device's copy").isEmpty();
        assertThat(stateOf(BOB, 2)).as("delivered a day later").isEqualTo(InboxEntry.State.DELIVERED);
        assertThat(stateOf(BOB, 3)).as("pending").isEqualTo(InboxEntry.State.PENDING);

        clock.advance(Duration.ofDays(1));
        expireAt(clock);
        assertThat(backend.messages().entry(BOB, 2)).isEmpty();
        assertThat(pendingIds(BOB)).containsExactly(3L);
    }

    @Test
    void shouldCountRetentionFromTheFirstDeliveryWhenMarkedAgain() {
        ManualClock clock = new ManualClock(T0);
        commit(new WriteBatch().append(BOB, message(1)).markDelivered(BOB, 1, clock.millis()));
        clock.advance(Duration.ofDays(20));
        commit(new WriteBatch().markDelivered(BOB, 1, clock.millis()));

        clock.advance(RETENTION.minusDays(20));
        expireAt(clock);
        assertThat(backend.messages().entry(BOB, 1)).isEmpty();
    }

    @Test
    void shouldNeverExpirePendingEntries() {
        ManualClock clock = new ManualClock(T0);
        StoredMessage old = message(1, ALICE, "bob", "c-1", "text/plain", new byte[] {1, 2, 3}, new byte[] {4});
        StoredMessage receipt = StoredMessage.receipt(2, MessageKind.RECEIPT_READ, old, BOB, 1);
        commit(new WriteBatch().append(BOB, old).append(BOB_LAPTOP, old).append(ALICE, receipt)
            .recordSend(ALICE, "c-1", new AcceptedSend(1, clock.millis())));

        clock.advance(Duration.ofDays(3650));
        RetentionPolicy.Expired expired = expireAt(clock);

        assertThat(expired.sends()).isEqualTo(1);
        assertThat(expired.delivered()).isZero();
        assertSameMessage(backend.messages().pending(BOB, 0, 10).get(0), old);
        assertSameMessage(backend.messages().pending(BOB_LAPTOP, 0, 10).get(0), old);
        assertSameMessage(backend.messages().pending(ALICE, 0, 10).get(0), receipt);
        assertThat(stateOf(BOB, 1)).isEqualTo(InboxEntry.State.PENDING);
        assertThat(backend.messages().pendingCount(BOB)).isEqualTo(1);
        // And a pending entry delivered ten years on gets its retention from then.
        commit(new WriteBatch().markDelivered(BOB, 1, clock.millis()));
        clock.advance(RETENTION.minusMillis(1));
        expireAt(clock);
        assertThat(stateOf(BOB, 1)).isEqualTo(InboxEntry.State.DELIVERED);
    }

    @Test
    void shouldExpireStrictlyBeforeTheCutoffPassedIn() {
        commit(new WriteBatch().append(BOB, message(1)).markDelivered(BOB, 1, 5_000)
            .recordSend(ALICE, "c-1", new AcceptedSend(1, 5_000)));

        assertThat(backend.messages().expireSends(5_000, 10)).isZero();
        assertThat(backend.messages().expireDelivered(5_000, 10)).isZero();
        assertThat(backend.messages().acceptedSend(ALICE, "c-1")).isPresent();
        assertThat(stateOf(BOB, 1)).isEqualTo(InboxEntry.State.DELIVERED);

        assertThat(backend.messages().expireSends(5_001, 10)).isEqualTo(1);
        assertThat(backend.messages().expireDelivered(5_001, 10)).isEqualTo(1);
        assertThat(backend.messages().acceptedSend(ALICE, "c-1")).isEmpty();
        assertThat(backend.messages().entry(BOB, 1)).isEmpty();
    }

    @Test
    void shouldExpireInBoundedBatchesLeavingTheStoreConsistent() {
        int due = 1_250;
        int batch = 500;
        List<DeviceId> owners = List.of(BOB, BOB_LAPTOP, CAROL, ALICE_LAPTOP);
        WriteBatch old = new WriteBatch();
        for (int i = 1; i <= due; i++) {
            old.append(owners.get(i % owners.size()), message(i)).recordSend(ALICE, "old-" + i, new AcceptedSend(i, T0 + i));
        }
        commit(old);
        WriteBatch deliver = new WriteBatch();
        for (int i = 1; i <= due; i++) {
            deliver.markDelivered(owners.get(i % owners.size()), i, T0 + i);
        }
        commit(deliver);
        long now = T0 + RETENTION.toMillis() + due + 1; // everything above is due, for both kinds
        WriteBatch recent = new WriteBatch();
        for (int i = due + 1; i <= due + 20; i++) {
            recent.append(BOB, message(i)).recordSend(ALICE, "new-" + i, new AcceptedSend(i, now));
        }
        commit(recent);
        commit(new WriteBatch().markDelivered(BOB, due + 1, now).markDelivered(BOB, due + 2, now));

        long sendsBefore = POLICY.sendsExpireBeforeMs(now);
        int expired = 0;
        for (int call = 0; call < 10 && expired < due; call++) {
            int removed = backend.messages().expireSends(sendsBefore, batch);
            assertThat(removed).as("one call removes at most its limit").isBetween(1, batch);
            expired += removed;
            assertThat(remainingSends("old-", 1, due)).as("records left after %d removed", expired).isEqualTo(due - expired);
            assertThat(remainingSends("new-", due + 1, due + 20)).as("records not due").isEqualTo(20);
        }
        assertThat(expired).isEqualTo(due);
        assertThat(backend.messages().expireSends(sendsBefore, batch)).isZero();

        long deliveredBefore = POLICY.deliveredExpireBeforeMs(now);
        expired = 0;
        for (int call = 0; call < 10 && expired < due; call++) {
            int removed = backend.messages().expireDelivered(deliveredBefore, batch);
            assertThat(removed).isBetween(1, batch);
            expired += removed;
            long left = LongStream.rangeClosed(1, due)
                .filter(i -> stateOf(owners.get((int) (i % owners.size())), i) != null).count();
            assertThat(left).as("delivered entries left after %d removed", expired).isEqualTo(due - expired);
        }
        assertThat(expired).isEqualTo(due);
        assertThat(backend.messages().expireDelivered(deliveredBefore, batch)).isZero();

        assertThat(pendingIds(BOB)).as("pending entries").isEqualTo(range(due + 3, due + 20));
        assertThat(stateOf(BOB, due + 1)).as("delivered, not due").isEqualTo(InboxEntry.State.DELIVERED);
        for (DeviceId owner : owners) {
            if (!owner.equals(BOB)) {
                assertThat(pendingIds(owner)).as("inbox of %s", owner).isEmpty();
            }
        }
        assertThat(backend.messages().highestServerId()).isEqualTo(due + 20);
        // And the store goes on as before.
        commit(new WriteBatch().append(CAROL, message(due + 21)).markDelivered(BOB, due + 3, now)
            .recordSend(ALICE, "old-1", new AcceptedSend(due + 21, now)));
        assertThat(pendingIds(CAROL)).containsExactly((long) due + 21);
        assertThat(stateOf(BOB, due + 3)).isEqualTo(InboxEntry.State.DELIVERED);
        assertThat(backend.messages().acceptedSend(ALICE, "old-1")).contains(new AcceptedSend(due + 21, now));
    }

    private long remainingSends(String prefix, int from, int to) {
        return LongStream.rangeClosed(from, to).filter(i -> backend.messages().acceptedSend(ALICE, prefix + i).isPresent())
            .count();
    }

    @Test
    void shouldRemoveEverythingDueInOnePassOfBoundedCalls() {
        int due = 1_050;
        RetentionPolicy policy = new RetentionPolicy(DEDUP_WINDOW, RETENTION, 100);
        WriteBatch batch = new WriteBatch();
        for (int i = 1; i <= due; i++) {
            batch.append(BOB, message(i)).recordSend(ALICE, "c-" + i, new AcceptedSend(i, T0));
        }
        commit(batch);
        batch.clear();
        for (int i = 1; i <= due; i++) {
            batch.markDelivered(BOB, i, T0);
        }
        commit(batch);

        RetentionPolicy.Expired expired = policy.expire(backend.messages(), T0 + RETENTION.toMillis());

        assertThat(expired.sends()).isEqualTo(due);
        assertThat(expired.delivered()).isEqualTo(due);
        assertThat(expired.calls()).as("11 calls of at most 100 for each kind").isEqualTo(22);
        assertThat(backend.messages().acceptedSend(ALICE, "c-1")).isEmpty();
        assertThat(backend.messages().acceptedSend(ALICE, "c-" + due)).isEmpty();
        assertThat(backend.messages().entry(BOB, due)).isEmpty();
    }

    @Test
    void shouldNeverExpireWhatAConcurrentCommitWritesAgain() throws Exception {
        // Each round rewrites every key, half of them with a due time (T0) and half with a time
        // after the cutoff, alternating, while expiry runs: a record due when expiry read it may
        // be rewritten before expiry deletes it, and a rewritten record must never be lost.
        int keys = 100;
        int rounds = 60;
        long cutoff = T0 + 1;
        AtomicBoolean stop = new AtomicBoolean();
        long[] lastId = new long[keys + 1]; // written by the writer, read after it ended
        long[] nextId = {0};
        Callable<?> writer = () -> {
            for (int r = 1; r <= rounds; r++) {
                WriteBatch batch = new WriteBatch();
                for (int k = 1; k <= keys; k++) {
                    long id = ++nextId[0];
                    boolean due = (k + r) % 2 == 0;
                    batch.recordSend(ALICE, "k-" + k, new AcceptedSend(id, due ? T0 : cutoff + r));
                    batch.append(BOB, message(id)).markDelivered(BOB, id, due ? T0 : cutoff + r);
                    lastId[k] = id;
                }
                commit(batch);
            }
            return null;
        };
        Callable<?> expirer = () -> {
            do {
                backend.messages().expireSends(cutoff, 7);
                backend.messages().expireDelivered(cutoff, 7);
            } while (!stop.get());
            return null;
        };
        runConcurrently(List.of(writer), List.of(expirer), stop);

        for (int k = 1; k <= keys; k++) {
            Optional<AcceptedSend> stored = backend.messages().acceptedSend(ALICE, "k-" + k);
            if ((k + rounds) % 2 == 0) {
                assertThat(stored.orElse(new AcceptedSend(lastId[k], T0))).as("key k-%d, last written due: expired or kept", k)
                    .isEqualTo(new AcceptedSend(lastId[k], T0));
            } else {
                assertThat(stored).as("key k-%d, last written after the cutoff", k)
                    .contains(new AcceptedSend(lastId[k], cutoff + rounds));
            }
        }
        for (long id = 1; id <= nextId[0]; id++) {
            long k = (id - 1) % keys + 1;
            long r = (id - 1) / keys + 1;
            if ((k + r) % 2 != 0) {
                assertThat(stateOf(BOB, id)).as("entry %d, delivered after the cutoff", id).isEqualTo(InboxEntry.State.DELIVERED);
            }
        }
    }

    @Test
    void shouldExpireWhatWasWrittenBeforeCloseAndReopen() {
        assumeTrue(isDurable(), "the backend is not durable: nothing survives close");
        commit(batchOf(BOB, 1, 2).recordSend(ALICE, "c-1", new AcceptedSend(1, T0)));
        commit(new WriteBatch().markDelivered(BOB, 1, T0));
        backend.close();

        backend = open(config(dataDirectory));
        RetentionPolicy.Expired expired = POLICY.expire(backend.messages(), T0 + RETENTION.toMillis());

        assertThat(expired.sends()).isEqualTo(1);
        assertThat(expired.delivered()).isEqualTo(1);
        assertThat(backend.messages().acceptedSend(ALICE, "c-1")).isEmpty();
        assertThat(backend.messages().entry(BOB, 1)).isEmpty();
        assertThat(pendingIds(BOB)).containsExactly(2L);
    }

    @Test
    void shouldRefuseANonPositiveExpiryLimit() {
        assertThatThrownBy(() -> backend.messages().expireSends(T0, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> backend.messages().expireDelivered(T0, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    // ---------------------------------------------------------------- concurrency and scale

    @Test
    void shouldKeepOrderWithManyWritersIntoOneInboxAndConcurrentReaders() throws Exception {
        int writers = 4;
        int batchesPerWriter = 50;
        int perBatch = 10;
        ReentrantLock commitLock = new ReentrantLock(); // commit is one writer at a time, by contract
        long[] lastId = {0}; // guarded by commitLock
        AtomicLong committed = new AtomicLong(); // ids whose commit has returned
        AtomicBoolean stop = new AtomicBoolean();

        List<Callable<?>> writerTasks = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            writerTasks.add(() -> {
                for (int b = 0; b < batchesPerWriter; b++) {
                    commitLock.lock();
                    try {
                        long first = lastId[0] + 1;
                        lastId[0] += perBatch;
                        WriteBatch batch = new WriteBatch();
                        // Appended highest first: order comes from server ids, not from append order.
                        for (long id = lastId[0]; id >= first; id--) {
                            batch.append(BOB, message(id));
                        }
                        commit(batch);
                        committed.set(lastId[0]);
                    } finally {
                        commitLock.unlock();
                    }
                }
                return null;
            });
        }
        List<Callable<?>> readerTasks = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            readerTasks.add(() -> {
                do {
                    long visibleAtLeast = committed.get();
                    List<Long> snapshot = ids(backend.messages().pending(BOB, 0, Integer.MAX_VALUE));
                    // Every commit that returned is visible, and ids are committed in order, whole
                    // batches at a time: each snapshot is exactly 1..n, ascending, no gap, no duplicate.
                    for (int i = 0; i < snapshot.size(); i++) {
                        if (snapshot.get(i) != i + 1) {
                            throw new AssertionError("Snapshot of " + snapshot.size() + " entries is not 1.."
                                + snapshot.size() + " in order: id " + snapshot.get(i) + " at index " + i + ", around it "
                                + snapshot.subList(Math.max(0, i - 3), Math.min(snapshot.size(), i + 4)));
                        }
                    }
                    assertThat(snapshot.size()).as("committed batches are visible").isGreaterThanOrEqualTo(
                        (int) visibleAtLeast);
                    assertThat(snapshot.size() % perBatch).as("a batch is seen whole or not at all").isZero();
                } while (!stop.get());
                return null;
            });
        }
        runConcurrently(writerTasks, readerTasks, stop);

        long total = (long) writers * batchesPerWriter * perBatch;
        assertThat(pendingIds(BOB)).isEqualTo(range(1, total));
        assertThat(backend.messages().pendingCount(BOB)).isEqualTo(total);
        assertThat(backend.messages().highestServerId()).isEqualTo(total);
    }

    @Test
    void shouldNeverHideEntriesFromReadersRacingAWriterThatAcknowledgesAndAppends() throws Exception {
        // The writer keeps exactly the newest 10 entries pending, each batch appending one and
        // acknowledging the oldest: every reader snapshot must show 10 consecutive ids, never
        // fewer (a stale cached "start of inbox") nor a half-applied batch.
        commit(batchOf(BOB, 1, 10));
        AtomicBoolean stop = new AtomicBoolean();
        Callable<?> writer = () -> {
            for (long id = 11; id <= 2_000; id++) {
                commit(new WriteBatch().append(BOB, message(id)).markDelivered(BOB, id - 10, DELIVERED_AT));
            }
            return null;
        };
        Callable<?> reader = () -> {
            do {
                List<Long> snapshot = ids(backend.messages().pending(BOB, 0, 100));
                assertThat(snapshot).hasSize(10);
                assertThat(snapshot).isEqualTo(range(snapshot.get(0), snapshot.get(0) + 9));
            } while (!stop.get());
            return null;
        };
        runConcurrently(List.of(writer), List.of(reader, reader), stop);

        assertThat(pendingIds(BOB)).isEqualTo(range(1991, 2000));
        assertThat(stateOf(BOB, 1990)).isEqualTo(InboxEntry.State.DELIVERED);
    }

    @Test
    void shouldRegisterDevicesAndKeepTheLatestLastSeenFromManyThreads() throws Exception {
        int threads = 4;
        int perThread = 25;
        List<Callable<?>> tasks = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            tasks.add(() -> {
                for (int i = 0; i < perThread; i++) {
                    backend.devices().register(new DeviceId("carol", String.format("d%02d-%02d", thread, i)));
                    backend.presence().saveLastSeen(Map.of("carol", 1_000L + thread * 100L + i));
                }
                return null;
            });
        }
        runConcurrently(tasks, List.of(), new AtomicBoolean());

        List<DeviceId> devices = backend.devices().devices("carol");
        assertThat(devices).hasSize(threads * perThread + 1).contains(CAROL).isSorted().doesNotHaveDuplicates();
        assertThat(backend.presence().lastSeen("carol")).hasValue(1_000L + (threads - 1) * 100L + perThread - 1);
    }

    @Test
    void shouldServeOneHundredThousandUsers() {
        int users = 100_000;
        byte[] payload = new byte[100]; // shared: entries never change their arrays
        WriteBatch batch = new WriteBatch();
        for (int u = 1; u <= users; u++) {
            batch.append(DeviceId.primary("user" + u),
                message(u, ALICE, "user" + u, "c-" + u, "text/plain", payload, new byte[0]));
            if (batch.size() == 1_000) {
                commit(batch);
                batch.clear();
            }
        }
        commit(batch);
        // A second device for a sample of them: every 200th user (durable backends make each
        // registration durable on its own, so all 100,000 would test the disk, not the backend).
        for (int u = 200; u <= users; u += 200) {
            backend.devices().register(new DeviceId("user" + u, "phone"));
        }

        for (int u = 1; u <= users; u += 997) {
            check(u);
        }
        check(users);
        check(200 * 77);
        assertThat(backend.messages().pendingCount(DeviceId.primary("user" + (users + 1)))).isZero();
        assertThat(backend.messages().highestServerId()).isEqualTo(users);
    }

    private void check(int u) {
        DeviceId owner = DeviceId.primary("user" + u);
        assertThat(pendingIds(owner)).as("inbox of user%d", u).containsExactly((long) u);
        assertThat(backend.messages().pendingCount(owner)).isEqualTo(1);
        assertThat(backend.messages().entry(owner, u)).get().extracting(e -> e.message().recipient())
            .isEqualTo("user" + u);
        List<DeviceId> expected = u % 200 == 0 ? List.of(owner, new DeviceId("user" + u, "phone")) : List.of(owner);
        assertThat(backend.devices().devices("user" + u)).isEqualTo(expected);
    }

    private static WriteBatch batchOf(DeviceId owner, long from, long to) {
        WriteBatch batch = new WriteBatch();
        for (long id = from; id <= to; id++) {
            batch.append(owner, message(id));
        }
        return batch;
    }

    // ---------------------------------------------------------------- directory, presence, keys

    @Test
    void shouldAlwaysListThePrimaryDeviceAndRegisterOthersOnceSorted() {
        assertThat(backend.devices().devices("bob")).containsExactly(BOB);
        backend.devices().register(BOB_LAPTOP);
        backend.devices().register(BOB_LAPTOP);
        backend.devices().register(new DeviceId("bob", "0-tablet"));
        backend.devices().register(new DeviceId("bob", "zz"));
        backend.devices().register(BOB);

        assertThat(backend.devices().devices("bob"))
            .containsExactly(new DeviceId("bob", "0-tablet"), BOB, BOB_LAPTOP, new DeviceId("bob", "zz"));
        assertThat(backend.devices().devices("alice")).containsExactly(ALICE);
        assertThat(backend.devices().devices("bo")).containsExactly(DeviceId.primary("bo"));
    }

    @Test
    void shouldKeepTheLaterLastSeen() {
        assertThat(backend.presence().lastSeen("alice")).isEmpty();
        backend.presence().saveLastSeen(Map.of("alice", 200L, "bob", 100L));
        backend.presence().saveLastSeen(Map.of("alice", 150L, "bob", 300L));
        backend.presence().saveLastSeen(Map.of());

        assertThat(backend.presence().lastSeen("alice")).hasValue(200L);
        assertThat(backend.presence().lastSeen("bob")).hasValue(300L);
        assertThat(backend.presence().lastSeen("carol")).isEmpty();
    }

    @Test
    void shouldAnswerTheDefaultPrivacyForAUserWhoNeverChose() {
        assertThat(backend.presence().privacy("alice")).isEqualTo(PresencePrivacy.DEFAULT);
        assertThat(PresencePrivacy.DEFAULT.visibility()).isEqualTo(PresencePrivacy.Visibility.EVERYONE);
        assertThat(PresencePrivacy.DEFAULT.contacts()).isEmpty();
    }

    @Test
    void shouldSaveAndReplacePresencePrivacyPerUserWithSortedContacts() {
        backend.presence().savePrivacy("alice",
            new PresencePrivacy(PresencePrivacy.Visibility.CONTACTS, List.of("carol", "bob", "bob")));
        backend.presence().savePrivacy("bob", new PresencePrivacy(PresencePrivacy.Visibility.NOBODY, List.of()));

        assertThat(backend.presence().privacy("alice").visibility()).isEqualTo(PresencePrivacy.Visibility.CONTACTS);
        assertThat(backend.presence().privacy("alice").contacts()).containsExactly("bob", "carol");
        assertThat(backend.presence().privacy("bob"))
            .isEqualTo(new PresencePrivacy(PresencePrivacy.Visibility.NOBODY, List.of()));
        assertThat(backend.presence().privacy("carol")).isEqualTo(PresencePrivacy.DEFAULT);

        backend.presence().savePrivacy("alice", new PresencePrivacy(PresencePrivacy.Visibility.EVERYONE, List.of("dave")));
        assertThat(backend.presence().privacy("alice"))
            .isEqualTo(new PresencePrivacy(PresencePrivacy.Visibility.EVERYONE, List.of("dave")));
        // Privacy and last seen are kept apart: neither write disturbs the other.
        backend.presence().saveLastSeen(Map.of("alice", 5L));
        assertThat(backend.presence().privacy("alice").contacts()).containsExactly("dave");
        assertThat(backend.presence().lastSeen("alice")).hasValue(5L);
    }

    @Test
    void shouldStoreALargeContactList() {
        List<String> contacts = IntStream.range(0, 5_000).mapToObj(i -> "user-" + i).toList();
        backend.presence().savePrivacy("alice", new PresencePrivacy(PresencePrivacy.Visibility.CONTACTS, contacts));

        PresencePrivacy read = backend.presence().privacy("alice");
        assertThat(read.contacts()).hasSize(5_000).isSorted().contains("user-0", "user-4999");
        assertThat(read.isContact("user-2500")).isTrue();
        assertThat(read.isContact("user-5000")).isFalse();
    }

    @Test
    void shouldPublishReplaceAndListKeyBundlesPerUser() {
        KeyBundle first = new KeyBundle(new byte[] {1}, new byte[] {2}, new byte[] {3});
        KeyBundle second = new KeyBundle(new byte[] {4, 4}, new byte[] {5, 5}, new byte[] {6, 6});
        byte[] big = new byte[4096];
        new Random(3).nextBytes(big);
        KeyBundle alices = new KeyBundle(new byte[32], big, new byte[] {-1, 0, 127, -128});
        backend.keys().publish(BOB_LAPTOP, first);
        backend.keys().publish(new DeviceId("bob", "0-tablet"), first);
        backend.keys().publish(BOB, first);
        backend.keys().publish(BOB_LAPTOP, second);
        backend.keys().publish(ALICE, alices);

        Map<String, KeyBundle> bobs = backend.keys().bundles("bob");
        assertThat(bobs.keySet()).containsExactly("0-tablet", "1", "laptop");
        assertSameBundle(bobs.get("laptop"), second);
        assertSameBundle(bobs.get("1"), first);
        Map<String, KeyBundle> alice = backend.keys().bundles("alice");
        assertThat(alice.keySet()).containsExactly("1");
        assertSameBundle(alice.get("1"), alices);
        assertThat(backend.keys().bundles("carol")).isEmpty();
    }

    @Test
    void shouldKeepEveryFieldOfAKeyBundle() {
        KeyBundle full = new KeyBundle(filled(32, 1), filled(32, 2), filled(64, 3), filled(32, 4), filled(64, 5), -7);
        backend.keys().publish(ALICE, full);
        backend.keys().publish(BOB, new KeyBundle(filled(32, 6), filled(32, 7), new byte[0]));
        assertSameBundle(backend.keys().bundles("alice").get("1"), full);
        KeyBundle old = backend.keys().bundles("bob").get("1");
        assertThat(old.identityDhKey()).isEmpty();
        assertThat(old.identityDhSignature()).isEmpty();
        assertThat(old.signature()).isEmpty();
        assertThat(old.signedPreKeyId()).isZero();
    }

    @Test
    void shouldAddReplaceTakeAndCountOneTimePreKeys() {
        KeyBundle bundle = bundle(1);
        assertThat(backend.keys().oneTimePreKeyCount(ALICE)).isZero();
        assertThat(backend.keys().takeOneTimePreKey(ALICE)).isEmpty();
        assertThat(backend.keys().publish(ALICE, bundle, List.of(preKey(1, 1), preKey(2, 2), preKey(-1, 3)), 100))
            .hasValue(3);
        // Id 2 again replaces its key (the last of a list wins); id 4 is added; the laptop is apart.
        assertThat(backend.keys().publish(ALICE, bundle, List.of(preKey(2, 20), preKey(4, 4), preKey(2, 21)), 100))
            .hasValue(4);
        assertThat(backend.keys().publish(ALICE_LAPTOP, bundle, List.of(preKey(1, 9)), 100)).hasValue(1);
        // A publish without keys changes the bundle, not the supply.
        backend.keys().publish(ALICE, bundle);
        assertThat(backend.keys().oneTimePreKeyCount(ALICE)).isEqualTo(4);

        Map<Integer, byte[]> taken = new java.util.HashMap<>();
        for (int i = 0; i < 4; i++) {
            OneTimePreKey key = backend.keys().takeOneTimePreKey(ALICE).orElseThrow();
            assertThat(taken.put(key.id(), key.publicKey())).as("key %s taken once", key.id()).isNull();
            assertThat(backend.keys().oneTimePreKeyCount(ALICE)).isEqualTo(3 - i);
        }
        assertThat(taken.keySet()).containsExactlyInAnyOrder(1, 2, -1, 4);
        assertThat(taken.get(2)).isEqualTo(filled(32, 21));
        assertThat(taken.get(-1)).isEqualTo(filled(32, 3));
        assertThat(backend.keys().takeOneTimePreKey(ALICE)).isEmpty();
        assertThat(backend.keys().oneTimePreKeyCount(ALICE_LAPTOP)).isEqualTo(1);
        assertThat(backend.keys().takeOneTimePreKey(ALICE_LAPTOP).orElseThrow().publicKey()).isEqualTo(filled(32, 9));
    }

    @Test
    void shouldDiscardTheSupplyWhenAnIdentityKeyChanges() {
        backend.keys().publish(ALICE, bundle(1), List.of(preKey(1, 1), preKey(2, 2)), 100);
        // The same identity with a new signed pre-key keeps the supply.
        KeyBundle rotated = new KeyBundle(bundle(1).identityKey(), filled(32, 99), filled(64, 98),
            bundle(1).identityDhKey(), bundle(1).identityDhSignature(), 2);
        assertThat(backend.keys().publish(ALICE, rotated, List.of(preKey(3, 3)), 100)).hasValue(3);
        // A new identity key: the earlier keys belonged to the old identity.
        assertThat(backend.keys().publish(ALICE, bundle(2), List.of(preKey(7, 7)), 100)).hasValue(1);
        assertThat(backend.keys().takeOneTimePreKey(ALICE).orElseThrow().id()).isEqualTo(7);
        backend.keys().publish(ALICE, bundle(2), List.of(preKey(8, 8)), 100);
        // A new X25519 identity key alone does the same.
        KeyBundle newDh = new KeyBundle(bundle(2).identityKey(), bundle(2).agreementKey(), bundle(2).signature(),
            filled(32, 77), bundle(2).identityDhSignature(), 1);
        assertThat(backend.keys().publish(ALICE, newDh, List.of(), 100)).hasValue(0);
        assertThat(backend.keys().takeOneTimePreKey(ALICE)).isEmpty();
    }

    @Test
    void shouldRefuseAPublishAboveTheSupplyLimitChangingNothing() {
        backend.keys().publish(ALICE, bundle(1), List.of(preKey(1, 1), preKey(2, 2), preKey(3, 3)), 5);
        assertThat(backend.keys().publish(ALICE, bundle(1), List.of(preKey(4, 4), preKey(5, 5), preKey(6, 6)), 5))
            .isEmpty();
        assertThat(backend.keys().publish(ALICE, rotatedBundle(1), List.of(preKey(4, 4), preKey(5, 5), preKey(6, 6)), 5))
            .isEmpty();
        assertSameBundle(backend.keys().bundles("alice").get("1"), bundle(1));
        assertThat(backend.keys().oneTimePreKeyCount(ALICE)).isEqualTo(3);
        // Ids it has already count once; a new identity starts from nothing, so five fit.
        assertThat(backend.keys().publish(ALICE, bundle(1), List.of(preKey(3, 3), preKey(4, 4), preKey(5, 5)), 5))
            .hasValue(5);
        assertThat(backend.keys().publish(ALICE, bundle(2), List.of(preKey(1, 1), preKey(2, 2), preKey(3, 3),
            preKey(4, 4), preKey(5, 5)), 5)).hasValue(5);
        assertSameBundle(backend.keys().bundles("alice").get("1"), bundle(2));
    }

    @Test
    void shouldHandOutEachOneTimePreKeyToOneOfManyConcurrentTakers() throws Exception {
        int supply = 1_000;
        for (int batch = 0; batch < supply / 100; batch++) {
            List<OneTimePreKey> keys = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                keys.add(preKey(batch * 100 + i, batch * 100 + i));
            }
            backend.keys().publish(BOB, bundle(1), keys, supply);
        }
        assertThat(backend.keys().oneTimePreKeyCount(BOB)).isEqualTo(supply);
        int threads = 8;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<List<Integer>>> takers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                takers.add(pool.submit(() -> {
                    await(start);
                    List<Integer> mine = new ArrayList<>();
                    for (Optional<OneTimePreKey> key = backend.keys().takeOneTimePreKey(BOB); key.isPresent();
                         key = backend.keys().takeOneTimePreKey(BOB)) {
                        assertThat(key.get().publicKey()).isEqualTo(preKey(key.get().id(), key.get().id()).publicKey());
                        mine.add(key.get().id());
                    }
                    return mine;
                }));
            }
            start.countDown();
            List<Integer> all = new ArrayList<>();
            for (Future<List<Integer>> taker : takers) {
                all.addAll(taker.get(WAIT_SECONDS, TimeUnit.SECONDS));
            }
            assertThat(all).as("every key handed out, none twice").hasSize(supply).doesNotHaveDuplicates();
            assertThat(backend.keys().oneTimePreKeyCount(BOB)).isZero();
            assertThat(backend.keys().takeOneTimePreKey(BOB)).isEmpty();
        } finally {
            pool.shutdownNow();
        }
    }

    private static KeyBundle bundle(int seed) {
        return new KeyBundle(filled(32, seed), filled(32, seed + 1), filled(64, seed + 2), filled(32, seed + 3),
            filled(64, seed + 4), seed);
    }

    /** {@link #bundle} with another signed pre-key: the same identity. */
    private static KeyBundle rotatedBundle(int seed) {
        KeyBundle bundle = bundle(seed);
        return new KeyBundle(bundle.identityKey(), filled(32, seed + 50), filled(64, seed + 51), bundle.identityDhKey(),
            bundle.identityDhSignature(), seed + 1);
    }

    private static OneTimePreKey preKey(int id, int seed) {
        return new OneTimePreKey(id, filled(32, seed));
    }

    private static byte[] filled(int length, int seed) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (seed * 31 + i);
        }
        return bytes;
    }

    // ---------------------------------------------------------------- RevocationStore

    @Test
    void shouldKeepTheLatestTokenRevocationOfEachUser() {
        assertThat(backend.revocations().allTokenRevocations()).isEmpty();
        backend.revocations().revokeTokensBefore("alice", 2_000);
        backend.revocations().revokeTokensBefore("alice", 1_000); // earlier: it changes nothing
        backend.revocations().revokeTokensBefore("bob", 700);
        backend.revocations().revokeTokensBefore("bob", 900);

        assertThat(backend.revocations().tokensRevokedBefore("alice")).hasValue(2_000L);
        assertThat(backend.revocations().tokensRevokedBefore("bob")).hasValue(900L);
        assertThat(backend.revocations().tokensRevokedBefore("carol")).isEmpty();
        assertThat(backend.revocations().tokensRevokedBefore("alic")).as("no prefix match").isEmpty();
        assertThat(backend.revocations().allTokenRevocations()).containsExactly(entry("alice", 2_000L), entry("bob", 900L));
    }

    @Test
    void shouldListEveryTokenRevocationSortedByUser() {
        List<String> users = new ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            users.add("user-" + i);
        }
        users.addAll(List.of("A", "a", "a.b", "a_b", "a-b", "Z9", "highest-server-id"));
        for (int i = 0; i < users.size(); i++) {
            backend.revocations().revokeTokensBefore(users.get(i), T0 + i);
        }
        // Other stores' data in the same backend is no revocation.
        commit(new WriteBatch().append(BOB, message(1)).recordSend(ALICE, "c-1", new AcceptedSend(1, T0)));
        backend.presence().saveLastSeen(Map.of("carol", 5L));

        Map<String, Long> all = backend.revocations().allTokenRevocations();
        assertThat(new ArrayList<>(all.keySet())).isEqualTo(users.stream().sorted().toList());
        for (int i = 0; i < users.size(); i++) {
            assertThat(all.get(users.get(i))).as(users.get(i)).isEqualTo(T0 + i);
        }
    }

    @Test
    void shouldKeepTheLatestTokenRevocationWhenManyThreadsRevokeAtOnce() throws Exception {
        int threads = 8;
        int each = 50;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    start.await();
                    // Interleaved cutoffs, so a lost update or a last-writer-wins shows as a smaller value.
                    for (int i = 0; i < each; i++) {
                        backend.revocations().revokeTokensBefore("alice", (long) i * threads + thread);
                        backend.revocations().revokeTokensBefore("user-" + thread, i);
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : done) {
                f.get(WAIT_SECONDS, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(backend.revocations().tokensRevokedBefore("alice")).hasValue((long) each * threads - 1);
        for (int t = 0; t < threads; t++) {
            assertThat(backend.revocations().tokensRevokedBefore("user-" + t)).hasValue(each - 1L);
        }
    }

    // ---------------------------------------------------------------- lifecycle

    @Test
    void shouldKeepEverythingAcrossCloseAndReopen() {
        assumeTrue(isDurable(), "the backend is not durable: nothing survives close");
        StoredMessage m1 = message(1);
        StoredMessage big = message(3, ALICE_LAPTOP, "bob", "big", "image/png", new byte[256 * 1024], new byte[] {1});
        KeyBundle bundle = new KeyBundle(new byte[] {1, 2}, new byte[] {3, 4}, new byte[] {5, 6});
        commit(new WriteBatch().append(BOB, m1).append(BOB, message(2)).append(BOB, big).append(BOB, message(4))
            .markDelivered(BOB, 2, DELIVERED_AT).remove(BOB, 4)
            .recordSend(ALICE, "c-1", new AcceptedSend(1, 1001)).advanceServerId(40));
        backend.devices().register(BOB_LAPTOP);
        backend.presence().saveLastSeen(Map.of("alice", 77L));
        backend.presence().savePrivacy("alice", new PresencePrivacy(PresencePrivacy.Visibility.CONTACTS, List.of("bob")));
        backend.keys().publish(BOB, bundle);
        KeyBundle full = bundle(5);
        backend.keys().publish(ALICE, full, List.of(preKey(1, 1), preKey(2, 2), preKey(3, 3)), 100);
        int firstTaken = backend.keys().takeOneTimePreKey(ALICE).orElseThrow().id();
        backend.revocations().revokeTokensBefore("alice", 1234);
        backend.close();

        backend = open(config(dataDirectory));
        assertThat(pendingIds(BOB)).containsExactly(1L, 3L);
        assertSameMessage(backend.messages().pending(BOB, 0, 10).get(0), m1);
        assertSameMessage(backend.messages().pending(BOB, 0, 10).get(1), big);
        assertThat(stateOf(BOB, 2)).isEqualTo(InboxEntry.State.DELIVERED);
        assertThat(backend.messages().entry(BOB, 2).orElseThrow().message().sender()).isEqualTo(ALICE);
        assertThat(backend.messages().entry(BOB, 4)).isEmpty();
        assertThat(backend.messages().pendingCount(BOB)).isEqualTo(2);
        assertThat(backend.messages().acceptedSend(ALICE, "c-1")).contains(new AcceptedSend(1, 1001));
        assertThat(backend.messages().highestServerId()).isEqualTo(40);
        assertThat(backend.devices().devices("bob")).containsExactly(BOB, BOB_LAPTOP);
        assertThat(backend.presence().lastSeen("alice")).hasValue(77L);
        assertThat(backend.presence().privacy("alice"))
            .isEqualTo(new PresencePrivacy(PresencePrivacy.Visibility.CONTACTS, List.of("bob")));
        assertThat(backend.keys().bundles("bob")).containsOnlyKeys("1");
        assertSameBundle(backend.keys().bundles("bob").get("1"), bundle);
        assertSameBundle(backend.keys().bundles("alice").get("1"), full);
        // A key handed out before the close is not handed out again.
        assertThat(backend.keys().oneTimePreKeyCount(ALICE)).isEqualTo(2);
        List<Integer> rest = List.of(backend.keys().takeOneTimePreKey(ALICE).orElseThrow().id(),
            backend.keys().takeOneTimePreKey(ALICE).orElseThrow().id());
        assertThat(rest).doesNotContain(firstTaken).containsAnyOf(1, 2, 3).doesNotHaveDuplicates();
        assertThat(backend.keys().takeOneTimePreKey(ALICE)).isEmpty();
        assertThat(backend.revocations().allTokenRevocations()).containsExactly(entry("alice", 1234L));

        // And it keeps working where it left off.
        commit(new WriteBatch().append(BOB, message(41)).markDelivered(BOB, 1, DELIVERED_AT));
        assertThat(pendingIds(BOB)).containsExactly(3L, 41L);
        assertThat(backend.messages().highestServerId()).isEqualTo(41);
    }

    @Test
    void shouldRefuseEveryOperationAfterCloseWithAStorageException() {
        backend.close();
        backend.close(); // idempotent

        List<Runnable> calls = List.of(
            () -> backend.messages().commit(new WriteBatch().append(BOB, message(1))),
            () -> backend.messages().pending(BOB, 0, 1),
            () -> backend.messages().entry(BOB, 1),
            () -> backend.messages().acceptedSend(BOB, "x"),
            () -> backend.messages().highestServerId(),
            () -> backend.messages().pendingCount(BOB),
            () -> backend.devices().register(BOB_LAPTOP),
            () -> backend.devices().devices("bob"),
            () -> backend.presence().saveLastSeen(Map.of("alice", 1L)),
            () -> backend.presence().lastSeen("alice"),
            () -> backend.presence().savePrivacy("alice", PresencePrivacy.DEFAULT),
            () -> backend.presence().privacy("alice"),
            () -> backend.keys().publish(BOB, new KeyBundle(new byte[] {1}, new byte[] {2}, new byte[] {3})),
            () -> backend.keys().bundles("bob"),
            () -> backend.keys().publish(BOB, bundle(1), List.of(preKey(1, 1)), 10),
            () -> backend.keys().takeOneTimePreKey(BOB),
            () -> backend.keys().oneTimePreKeyCount(BOB),
            () -> backend.messages().expireSends(T0, 10),
            () -> backend.messages().expireDelivered(T0, 10),
            () -> backend.revocations().revokeTokensBefore("alice", 1),
            () -> backend.revocations().tokensRevokedBefore("alice"),
            () -> backend.revocations().allTokenRevocations());
        for (int i = 0; i < calls.size(); i++) {
            assertThatThrownBy(calls.get(i)::run).as("call #%d after close", i)
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("closed");
        }
        backend.close(); // still fine
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
