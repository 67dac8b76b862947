package io.courier.router;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.router.auth.InsecureAuthenticator;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.memory.InMemoryStorageProvider;
import io.courier.transport.Connection;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Heartbeat;
import io.courier.transport.proto.Hello;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Heartbeats cost the presence store nothing: 10,000 idle sessions beating every 5 s for ten
 * simulated minutes (an injected clock, swept every half interval as the sweeper's timer would)
 * write at most one last-seen row per user per checkpoint, where writing per beat would be
 * 1,200,000. In-process connections share one I/O thread, as a transport's event loop does.
 */
class RouterPresenceWritesTest {

    private static final int SESSIONS = 10_000;
    private static final Duration SIMULATED = Duration.ofMinutes(10);

    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final RouterConfig config = RouterConfig.defaults();
    private final ExecutorService loop = Executors.newSingleThreadExecutor(r -> new Thread(r, "test-event-loop"));
    private final AtomicReference<Thread> loopThread = new AtomicReference<>();
    private StorageBackend storage;
    private Router router;

    @BeforeEach
    void start() throws Exception {
        loop.submit(() -> loopThread.set(Thread.currentThread())).get(10, SECONDS);
        storage = new InMemoryStorageProvider().open(new StorageConfig(Path.of("unused"), Map.of()));
        router = new Router(config, storage, new InsecureAuthenticator(), new SimpleMeterRegistry(), clock).start();
    }

    @AfterEach
    void stop() throws Exception {
        router.close();
        storage.close();
        loop.shutdown();
        loop.awaitTermination(10, SECONDS);
    }

    @Test
    void shouldWriteABoundedCountedNumberOfLastSeenRowsForIdleSessionsBeatingEveryFiveSeconds() throws Exception {
        List<LoopConnection> connections = new ArrayList<>(SESSIONS);
        for (int i = 0; i < SESSIONS; i++) {
            connections.add(new LoopConnection());
        }
        onLoop(() -> {
            for (int i = 0; i < SESSIONS; i++) {
                LoopConnection connection = connections.get(i);
                router.onOpen(connection);
                router.onFrame(connection, Frame.newBuilder().setHello(Hello.newBuilder().setUser("user-" + i)).build());
            }
        });
        await().atMost(60, SECONDS).until(() -> router.sessionCount() == SESSIONS);
        assertThat(connections).allMatch(c -> c.welcomed.get() == 1);

        Frame beat = Frame.newBuilder().setHeartbeat(Heartbeat.newBuilder()).build();
        long halfBeat = config.heartbeatIntervalMs() / 2;
        long beats = 0;
        for (long elapsed = halfBeat; elapsed <= SIMULATED.toMillis(); elapsed += halfBeat) {
            clock.advance(Duration.ofMillis(halfBeat));
            if (elapsed % config.heartbeatIntervalMs() == 0) {
                onLoop(() -> connections.forEach(c -> router.onFrame(c, beat)));
                beats += SESSIONS;
            }
            router.sweep();
        }

        long writes = (long) router.presenceWriteCount();
        long checkpoints = SIMULATED.toMillis() / config.presenceFlushIntervalMs();
        long bound = SESSIONS * checkpoints;
        System.out.printf("Presence store: %,d last-seen rows written for %,d heartbeats of %,d idle sessions over %s"
            + " simulated (bound: sessions x checkpoints = %,d; one row per beat would be %,d)%n",
            writes, beats, SESSIONS, SIMULATED, bound, beats);

        assertThat(beats).isEqualTo(SESSIONS * (SIMULATED.toMillis() / config.heartbeatIntervalMs()));
        assertThat(router.sessionCount()).as("every session beat in time and is still open").isEqualTo(SESSIONS);
        assertThat(connections).allMatch(c -> c.errors.get() == 0);
        assertThat(writes).isLessThanOrEqualTo(bound).isGreaterThanOrEqualTo(SESSIONS);
        // The checkpoint carries the last activity: the beat at the last sweep's time.
        assertThat(storage.presence().lastSeen("user-0")).hasValue(clock.millis());
        assertThat(storage.presence().lastSeen("user-" + (SESSIONS - 1))).hasValue(clock.millis());

        // Going offline is one row each, with the last activity, at the next sweep.
        long lastBeat = clock.millis();
        clock.advance(Duration.ofMillis(halfBeat));
        int leaving = 1_000;
        onLoop(() -> connections.subList(0, leaving).forEach(LoopConnection::close));
        onLoop(() -> { }); // the closes were queued behind it
        router.sweep();
        assertThat((long) router.presenceWriteCount()).isEqualTo(writes + leaving);
        assertThat(storage.presence().lastSeen("user-0")).hasValue(lastBeat);
    }

    private void onLoop(Runnable task) throws Exception {
        loop.submit(task).get(60, SECONDS);
    }

    /** A connection served by the shared test event loop that keeps only counts of what it is sent. */
    private final class LoopConnection implements Connection {

        private static final AtomicLong IDS = new AtomicLong();
        private final long id = IDS.incrementAndGet();
        private volatile boolean open = true;
        private Object attachment;
        final AtomicInteger welcomed = new AtomicInteger();
        final AtomicInteger errors = new AtomicInteger();

        @Override
        public long id() {
            return id;
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
            if (frame.hasWelcome()) {
                welcomed.incrementAndGet();
            } else if (frame.hasError()) {
                errors.incrementAndGet();
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
            return open;
        }

        @Override
        public void close() {
            if (open) {
                open = false;
                loop.execute(() -> router.onClose(this));
            }
        }

        @Override
        public void closeWithError(Error error) {
            errors.incrementAndGet();
            close();
        }

        @Override
        public java.util.concurrent.Executor executor() {
            return loop;
        }

        @Override
        public boolean inExecutor() {
            return Thread.currentThread() == loopThread.get();
        }

        @Override
        public Object attachment() {
            return attachment;
        }

        @Override
        public void attach(Object attachment) {
            this.attachment = attachment;
        }
    }
}
