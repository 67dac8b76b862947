package io.courier.router.internal;

import io.courier.storage.MessageStore;
import io.courier.storage.RetentionPolicy;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the storage layer's expiry ({@link RetentionPolicy#expire}) every
 * {@code router.expiry-interval-ms} on a timer thread of its own: de-duplication records older
 * than {@code router.dedup-window-hours}, delivered entries older than
 * {@code router.delivered-retention-hours}. A pass is a series of bounded storage calls that goes
 * on until nothing is due, with the writer's commits going on between them; on its own thread, a
 * long pass (after downtime, or a shortened window) never holds up heartbeats. Time comes from
 * the injected clock.
 */
public final class RetentionSweeper implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RetentionSweeper.class);

    private final MessageStore store;
    private final RetentionPolicy policy;
    private final Clock clock;
    private final int intervalMs;
    private final Counter sends;
    private final Counter delivered;
    private final ScheduledExecutorService timer;

    public RetentionSweeper(MessageStore store, RetentionPolicy policy, Clock clock, int intervalMs,
                            MeterRegistry registry) {
        this.store = store;
        this.policy = policy;
        this.clock = clock;
        this.intervalMs = intervalMs;
        this.sends = Counter.builder("courier.storage.expired").tag("kind", "sends")
            .description("De-duplication records and delivered entries removed by expiry").register(registry);
        this.delivered = Counter.builder("courier.storage.expired").tag("kind", "delivered")
            .description("De-duplication records and delivered entries removed by expiry").register(registry);
        this.timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "courier-expiry");
            thread.setDaemon(true);
            return thread;
        });
    }

    /** Expires every {@code router.expiry-interval-ms}, the first time one interval from now. */
    public void start() {
        timer.scheduleWithFixedDelay(this::expireSafely, intervalMs, intervalMs, TimeUnit.MILLISECONDS);
    }

    /** One pass at the clock's current time; one at a time, whoever calls. Blocks until done. */
    public synchronized RetentionPolicy.Expired expire() {
        RetentionPolicy.Expired expired = policy.expire(store, clock.millis());
        sends.increment(expired.sends());
        delivered.increment(expired.delivered());
        if (expired.sends() > 0 || expired.delivered() > 0) {
            LOG.debug("Expired {} de-duplication records and {} delivered entries in {} storage calls", expired.sends(),
                expired.delivered(), expired.calls());
        }
        return expired;
    }

    private void expireSafely() {
        try {
            expire();
        } catch (RuntimeException e) {
            if (Thread.currentThread().isInterrupted()) {
                // Shutdown interrupted a storage call: nothing is lost, the next start expires it.
                LOG.info("Storage expiry stopped by shutdown during a pass: {}", e.toString());
            } else {
                LOG.error("Expiring de-duplication records and delivered entries failed; will retry in {} ms", intervalMs,
                    e);
            }
        }
    }

    /** Stops the timer; a pass under way stops between two storage calls. */
    @Override
    public void close() {
        timer.shutdownNow();
        try {
            if (!timer.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("Storage expiry still running at shutdown");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
