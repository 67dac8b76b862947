package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A pair of users who keep chatting while a test does something to others: every 50 ms one
 * message each way, each timed from its send to its delivery. {@link #close()} says whether they
 * were left alone: no error frame, both still connected, every message delivered within a second
 * (after a warm-up, which is not timed).
 */
final class Bystanders implements AutoCloseable {

    /** The one timing the tests assert: no bystander's message may take longer. */
    static final Duration MAX_DELAY = Duration.ofSeconds(1);
    private static final int WARM_UP_ROUNDS = 20;

    private final TestClient a;
    private final TestClient b;
    private final ScheduledExecutorService chat = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "bystanders");
        t.setDaemon(true);
        return t;
    });
    private final AtomicInteger sent = new AtomicInteger();
    private final AtomicInteger timed = new AtomicInteger();
    private final AtomicLong maxNanos = new AtomicLong();
    private final AtomicLong totalNanos = new AtomicLong();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    /** Starts the pair chatting once {@code a} and {@code b} (connected) have warmed up. */
    Bystanders(TestClient a, TestClient b) {
        this.a = a;
        this.b = b;
        for (int i = 0; i < WARM_UP_ROUNDS; i++) {
            round(false);
        }
        chat.scheduleWithFixedDelay(() -> {
            try {
                round(true);
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
                throw t;
            }
        }, 0, 50, TimeUnit.MILLISECONDS);
    }

    private void round(boolean time) {
        exchange(a, b, time);
        exchange(b, a, time);
    }

    private void exchange(TestClient from, TestClient to, boolean time) {
        int n = sent.incrementAndGet();
        int before = to.deliveredCount();
        long start = System.nanoTime();
        from.send(to.user, from.user + "-" + n, "bystander " + n);
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(2))
            .until(() -> to.deliveredCount() > before);
        if (time) {
            long nanos = System.nanoTime() - start;
            maxNanos.accumulateAndGet(nanos, Math::max);
            totalNanos.addAndGet(nanos);
            timed.incrementAndGet();
        }
    }

    /** How the pair fared, for the test's output. */
    String report() {
        int n = timed.get();
        return String.format("bystanders: %d messages timed, max %.1f ms, mean %.1f ms", n, maxNanos.get() / 1e6,
            n == 0 ? 0.0 : totalNanos.get() / 1e6 / n);
    }

    /** Stops the chat and asserts the pair was unaffected. */
    @Override
    public void close() throws InterruptedException {
        // At least one timed round, so a test that finishes fast still shows the pair chatting.
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> timed.get() >= 2 || failure.get() != null);
        chat.shutdown();
        assertThat(chat.awaitTermination(TestClient.TIMEOUT_SECONDS, SECONDS)).isTrue();
        System.out.println(report());
        assertThat(failure.get()).as("the bystanders' chat").isNull();
        assertThat(a.errors).as("errors seen by %s", a.user).isEmpty();
        assertThat(b.errors).as("errors seen by %s", b.user).isEmpty();
        assertThat(a.isOpen() && b.isOpen()).as("both bystanders still connected").isTrue();
        assertThat(Duration.ofNanos(maxNanos.get())).as("the slowest bystander message (%s)", report())
            .isLessThanOrEqualTo(MAX_DELAY);
    }
}
