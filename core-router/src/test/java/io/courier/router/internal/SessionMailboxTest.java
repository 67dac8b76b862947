package io.courier.router.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.storage.DeviceId;
import io.courier.storage.MessageKind;
import io.courier.storage.StoredMessage;
import io.courier.transport.Connection;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Welcome;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.NavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A session's mailbox is made by the first offer and released after a quiet sweep; no committed
 * entry is lost or written twice across release and re-creation, even when offers race with the
 * release. The inbox here is an in-memory map written before each offer, as the writer commits
 * before it offers.
 */
class SessionMailboxTest {

    private static final DeviceId ALICE = new DeviceId("alice", "phone");
    private static final int PAGE = 16;

    private final NavigableMap<Long, StoredMessage> inbox = new ConcurrentSkipListMap<>();
    private final AtomicInteger reads = new AtomicInteger();
    private final IoConnection connection = new IoConnection();
    private final Session session = new Session(ALICE, connection, 64, 0, 0, this::readPage,
        new RouterMetrics(new SimpleMeterRegistry()), new RateLimiter(1000, 1000, 1_000_000, 1_000_000, 100, 0));

    @AfterEach
    void stop() {
        connection.thread.shutdownNow();
    }

    @Test
    void shouldHoldNoMailboxUntilSomethingIsOffered() throws Exception {
        welcome();
        assertThat(session.hasMailbox()).isFalse();

        commitAndOffer(1);
        connection.awaitWritten(1);

        assertThat(session.hasMailbox()).isTrue();
        assertThat(connection.ids()).containsExactly(1L);
    }

    @Test
    void shouldReleaseTheMailboxAfterAQuietSweepAndMakeANewOneForTheNextOffer() throws Exception {
        welcome();
        commitAndOffer(1);
        connection.awaitWritten(1);

        session.sweepMailbox(); // offered since the last sweep: kept
        connection.sync();
        assertThat(session.hasMailbox()).isTrue();
        session.sweepMailbox(); // quiet since: released
        connection.sync();
        assertThat(session.hasMailbox()).isFalse();

        commitAndOffer(2);
        connection.awaitWritten(2);
        assertThat(session.hasMailbox()).isTrue();
        assertThat(connection.ids()).containsExactly(1L, 2L);
    }

    @Test
    void shouldNotReleaseAMailboxThatStillHoldsEntries() throws Exception {
        // Not welcomed: nothing is drained, so the entries stay in the mailbox.
        commitAndOffer(1);
        commitAndOffer(2);
        session.sweepMailbox();
        session.sweepMailbox();
        connection.sync();

        assertThat(session.hasMailbox()).isTrue();
        assertThat(session.mailboxDepth()).isEqualTo(2);
    }

    @Test
    void shouldLoseNoEntryWhenOffersRaceWithReleases() throws Exception {
        welcome();
        int rounds = 2000;
        int producers = 3;
        int perProducer = 10;
        ExecutorService pool = Executors.newFixedThreadPool(producers + 1);
        Object commitOrder = new Object();
        long[] next = {1};
        try {
            for (int round = 0; round < rounds; round++) {
                // Release the mailbox for certain, then race the next offers against more sweeps.
                session.sweepMailbox();
                session.sweepMailbox();
                connection.sync();
                assertThat(session.hasMailbox()).isFalse();

                CyclicBarrier start = new CyclicBarrier(producers + 1);
                AtomicBoolean producing = new AtomicBoolean(true);
                List<Future<?>> tasks = new ArrayList<>();
                for (int p = 0; p < producers; p++) {
                    tasks.add(pool.submit(() -> {
                        start.await(10, TimeUnit.SECONDS);
                        for (int i = 0; i < perProducer; i++) {
                            // Ids rise in commit order and each is committed before it is offered,
                            // as the storage writer does; the producers take turns, not a queue.
                            synchronized (commitOrder) {
                                commitAndOffer(next[0]++);
                            }
                        }
                        return null;
                    }));
                }
                CountDownLatch swept = new CountDownLatch(1);
                Future<?> sweeper = pool.submit(() -> {
                    start.await(10, TimeUnit.SECONDS);
                    do {
                        session.sweepMailbox();
                        swept.countDown();
                    } while (producing.get());
                    return null;
                });
                for (Future<?> task : tasks) {
                    task.get(10, TimeUnit.SECONDS);
                }
                swept.await(10, TimeUnit.SECONDS);
                producing.set(false);
                sweeper.get(10, TimeUnit.SECONDS);

                long expected = next[0] - 1;
                connection.awaitWritten(expected);
                assertThat(connection.lastId()).isEqualTo(expected);
            }
        } finally {
            pool.shutdownNow();
        }
        List<Long> ids = connection.ids();
        assertThat(ids).hasSize(rounds * producers * perProducer);
        for (int i = 0; i < ids.size(); i++) {
            assertThat(ids.get(i)).isEqualTo(i + 1L);
        }
    }

    /**
     * On a store other servers write too: an offer that follows what the connection was sent is
     * written from the mailbox, with no read; one whose inbox held an entry the connection was not
     * sent (another server committed 3, and its offer is late or lost) makes the session read its
     * inbox, which sends 3 and 4 in order; the late offer of 3 then changes nothing.
     */
    @Test
    void shouldWriteAnOfferThatFollowsWhatWasSentAndReadTheInboxForOneThatDoesNot() throws Exception {
        welcome();
        int readsAtWelcome = reads.get();
        commitAndOffer(1, 0);
        connection.awaitWritten(1);
        commitAndOffer(2, 1);
        connection.awaitWritten(2);
        assertThat(reads.get()).as("offers that follow on each other need no read").isEqualTo(readsAtWelcome);

        inbox.put(3L, message(3)); // committed by another server; its offer has not arrived
        commitAndOffer(4, 3);
        connection.awaitWritten(4);
        assertThat(connection.ids()).containsExactly(1L, 2L, 3L, 4L);
        assertThat(reads.get()).as("the gap was read from the inbox").isEqualTo(readsAtWelcome + 1);

        session.offer(new BatchStaging.Offer(ALICE, message(3), 2));
        commitAndOffer(5, 4);
        connection.awaitWritten(5);
        assertThat(connection.ids()).containsExactly(1L, 2L, 3L, 4L, 5L);
        assertThat(reads.get()).isEqualTo(readsAtWelcome + 1);
    }

    private void welcome() throws Exception {
        session.welcome(Frame.newBuilder().setWelcome(Welcome.getDefaultInstance()).build());
        connection.sync();
    }

    private void commitAndOffer(long serverId) {
        StoredMessage message = message(serverId);
        inbox.put(serverId, message);
        session.offer(message);
    }

    /** Commits and offers as on a shared store: {@code after} is the inbox's highest id before it. */
    private void commitAndOffer(long serverId, long after) {
        StoredMessage message = message(serverId);
        inbox.put(serverId, message);
        session.offer(new BatchStaging.Offer(ALICE, message, after));
    }

    private static StoredMessage message(long serverId) {
        return new StoredMessage(serverId, MessageKind.MESSAGE, new DeviceId("bob", "laptop"),
            ALICE.user(), "m" + serverId, 0, serverId, "text/plain", new byte[] {1}, null);
    }

    /** Reads a page off the I/O thread, as storage does, and hands it back on it. */
    private void readPage(Session reading, long afterServerId) {
        reads.incrementAndGet();
        List<StoredMessage> page = new ArrayList<>(inbox.tailMap(afterServerId, false).values());
        boolean full = page.size() > PAGE;
        List<StoredMessage> handed = List.copyOf(full ? page.subList(0, PAGE) : page);
        connection.thread.execute(() -> reading.onPageArrived(handed, full));
    }

    /** A connection with an I/O thread of its own that records the ids of the entries written to it. */
    private static final class IoConnection implements Connection {

        final ExecutorService thread = Executors.newSingleThreadExecutor(r -> new Thread(r, "test-io"));
        private final AtomicReference<Thread> ioThread = new AtomicReference<>();
        private final List<Long> written = new CopyOnWriteArrayList<>();
        private final Object progress = new Object();

        List<Long> ids() {
            return List.copyOf(written);
        }

        long lastId() {
            return written.isEmpty() ? 0 : written.get(written.size() - 1);
        }

        /** Returns once every task queued on the I/O thread so far has run. */
        void sync() throws Exception {
            thread.submit(() -> { }).get(10, TimeUnit.SECONDS);
        }

        /** Waits (on a monitor the I/O thread notifies) until the entry {@code serverId} was written. */
        void awaitWritten(long serverId) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            synchronized (progress) {
                while (lastId() < serverId) {
                    long left = deadline - System.nanoTime();
                    assertThat(left).as("entry %d written within 10 s; written up to %d", serverId, lastId()).isPositive();
                    TimeUnit.NANOSECONDS.timedWait(progress, left);
                }
            }
        }

        @Override
        public long id() {
            return 1;
        }

        @Override
        public String transport() {
            return "test";
        }

        @Override
        public SocketAddress remoteAddress() {
            return new InetSocketAddress("127.0.0.1", 1);
        }

        @Override
        public void write(Frame frame) {
            if (frame.hasDeliver()) {
                synchronized (progress) {
                    written.add(frame.getDeliver().getServerMessageId());
                    progress.notifyAll();
                }
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public boolean isWritable() {
            return true;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }

        @Override
        public void closeWithError(Error error) {
        }

        @Override
        public java.util.concurrent.Executor executor() {
            return command -> thread.execute(() -> {
                ioThread.set(Thread.currentThread());
                command.run();
            });
        }

        @Override
        public boolean inExecutor() {
            return Thread.currentThread() == ioThread.get();
        }

        @Override
        public Object attachment() {
            return null;
        }

        @Override
        public void attach(Object attachment) {
        }
    }
}
