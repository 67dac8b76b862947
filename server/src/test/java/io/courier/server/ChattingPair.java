package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Two well-behaved users who keep chatting on a thread of their own while a test attacks the
 * server: each sends the other a message in turn and waits until it has arrived, and the pair
 * keeps how long each took from send to delivery. A test asserts with it that nobody else was
 * hurt: no error frame, no message lost, none delayed above a bound.
 */
final class ChattingPair implements AutoCloseable {

    private final TestClient a;
    private final TestClient b;
    private final AtomicLong maxDelayNanos = new AtomicLong();
    private final AtomicInteger measured = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Thread thread = new Thread(this::chat, "bystanders");
    private volatile boolean running = true;
    private int sent;

    ChattingPair(TestClient a, TestClient b) {
        this.a = a;
        this.b = b;
    }

    /**
     * Chats {@code roundTrips} times unmeasured, so that what is measured later is not the first
     * use of a code path, then keeps chatting, measuring every message, until {@link #close()}.
     */
    ChattingPair warmUpAndStart(int roundTrips) {
        for (int i = 0; i < 2 * roundTrips; i++) {
            exchange();
        }
        thread.setDaemon(true);
        thread.start();
        return this;
    }

    private void chat() {
        try {
            while (running) {
                long delay = exchange();
                maxDelayNanos.accumulateAndGet(delay, Math::max);
                measured.incrementAndGet();
            }
        } catch (Throwable t) {
            failure.set(t);
        }
    }

    /** One message from one to the other, in turn; returns how long it took to arrive. */
    private long exchange() {
        int n = ++sent;
        TestClient from = n % 2 == 0 ? a : b;
        TestClient to = n % 2 == 0 ? b : a;
        int before = to.deliveredCount();
        long start = System.nanoTime();
        from.send(to.user, from.user + "-" + n, "chat " + n);
        await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(1)).atMost(TestClient.TIMEOUT_SECONDS, SECONDS)
            .until(() -> to.deliveredCount() > before);
        return System.nanoTime() - start;
    }

    /** The longest a measured message took to arrive so far, in milliseconds. */
    long maxDelayMillis() {
        return TimeUnit.NANOSECONDS.toMillis(maxDelayNanos.get());
    }

    /** Messages measured so far. */
    int measured() {
        return measured.get();
    }

    /** Stops chatting; fails if a message did not arrive, an error frame came, or a connection closed. */
    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(SECONDS.toMillis(TestClient.TIMEOUT_SECONDS + 5));
        assertThat(failure.get()).as("the bystanders kept chatting").isNull();
        assertThat(a.errors).as("errors for %s", a.user).isEmpty();
        assertThat(b.errors).as("errors for %s", b.user).isEmpty();
        assertThat(a.isOpen() && b.isOpen()).as("both still connected").isTrue();
    }
}
