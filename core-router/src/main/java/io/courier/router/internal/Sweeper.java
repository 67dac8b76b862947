package io.courier.router.internal;

import io.courier.router.RouterConfig;
import io.courier.storage.PresenceStore;
import io.courier.transport.Connection;
import io.courier.transport.Frames;
import io.courier.transport.proto.Error;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Housekeeping on a timer thread of its own, every half heartbeat interval (or half hello timeout,
 * if shorter): closes connections that said no hello within {@code router.hello-timeout-ms} and
 * sessions silent for {@code router.missed-heartbeats} intervals, and writes last-seen times to
 * the presence store at the coalesced {@code router.presence-flush-interval-ms}, never once per beat.
 *
 * <p>It keeps what that needs: when each unauthenticated connection opened, and the last-seen
 * times not yet written. Any thread may report to it; time comes from the injected clock, so
 * tests move a clock and call {@link #sweep()} instead of waiting.
 */
public final class Sweeper implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Sweeper.class);

    private final RouterConfig config;
    private final SessionTable sessions;
    private final PresenceStore presence;
    private final RouterMetrics metrics;
    private final Clock clock;
    private final Map<Connection, Long> awaitingHello = new ConcurrentHashMap<>();
    private final Map<String, Long> lastSeen = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer;
    private volatile long lastPresenceFlushMs;

    public Sweeper(RouterConfig config, SessionTable sessions, PresenceStore presence, RouterMetrics metrics, Clock clock) {
        this.config = config;
        this.sessions = sessions;
        this.presence = presence;
        this.metrics = metrics;
        this.clock = clock;
        this.lastPresenceFlushMs = clock.millis();
        this.timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "courier-sweeper");
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Starts sweeping every half heartbeat interval, or every half hello timeout when that is
     * shorter (but not more often than every 50 ms), so neither limit is overshot by more than half.
     */
    public void start() {
        long period = Math.max(50, Math.min(config.heartbeatIntervalMs(), config.helloTimeoutMs()) / 2);
        timer.scheduleWithFixedDelay(this::sweepSafely, period, period, TimeUnit.MILLISECONDS);
    }

    /** How long an authenticated connection may stay silent: missed heartbeats × interval. */
    public long idleLimitMs() {
        return (long) config.heartbeatIntervalMs() * config.missedHeartbeats();
    }

    /** {@code connection} opened and has until the hello timeout to say hello. */
    public void awaitHello(Connection connection) {
        awaitingHello.put(connection, clock.millis());
    }

    /** {@code connection}'s hello was accepted: no hello timeout for it any more. */
    public void helloAccepted(Connection connection) {
        awaitingHello.remove(connection);
    }

    /** {@code connection} closed; {@code session} is its session, or null if it never had one. */
    public void closed(Connection connection, Session session) {
        awaitingHello.remove(connection);
        if (session != null) {
            lastSeen.merge(session.device().user(), clock.millis(), Math::max);
        }
    }

    /** The last-seen time of {@code user} not yet written to the presence store, or 0. */
    public long unwrittenLastSeen(String user) {
        Long seen = lastSeen.get(user);
        return seen == null ? 0 : seen;
    }

    private void sweepSafely() {
        try {
            sweep();
        } catch (RuntimeException e) {
            LOG.error("Housekeeping sweep failed; will retry", e);
        }
    }

    /**
     * Closes sessions that missed too many heartbeats (IDLE_TIMEOUT) and connections that never
     * said hello (NOT_AUTHENTICATED), and writes last-seen times when the flush interval has
     * passed. Runs on the timer thread; tests with a fake clock call it directly.
     */
    public void sweep() {
        long now = clock.millis();
        long idleLimit = idleLimitMs();
        sessions.forEach(session -> {
            long silent = now - session.lastActivityMs();
            if (silent > idleLimit) {
                fatal(session.connection(), Error.Code.IDLE_TIMEOUT,
                    "No heartbeat for " + silent + " ms (limit " + idleLimit + " ms)");
            }
        });
        awaitingHello.forEach((connection, openedAt) -> {
            if (now - openedAt > config.helloTimeoutMs()) {
                awaitingHello.remove(connection);
                fatal(connection, Error.Code.NOT_AUTHENTICATED, "No hello within " + config.helloTimeoutMs() + " ms");
            }
        });
        if (now - lastPresenceFlushMs >= config.presenceFlushIntervalMs()) {
            flushPresence(now);
        }
    }

    /** Writes the last activity of every online user and of everyone who left since the last flush. */
    public void flushPresence(long now) {
        lastPresenceFlushMs = now;
        sessions.forEach(session -> lastSeen.merge(session.device().user(), session.lastActivityMs(), Math::max));
        if (lastSeen.isEmpty()) {
            return;
        }
        Map<String, Long> batch = Map.copyOf(lastSeen);
        presence.saveLastSeen(batch);
        // Only what was written: a later time recorded meanwhile stays for the next flush.
        batch.forEach(lastSeen::remove);
    }

    private void fatal(Connection connection, Error.Code code, String text) {
        connection.closeWithError(Frames.fatal(code, text, 0));
        metrics.error(code);
    }

    /** Stops the timer, then writes last-seen times one last time. */
    @Override
    public void close() {
        timer.shutdownNow();
        try {
            if (!timer.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("Housekeeping sweep still running at shutdown");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            flushPresence(clock.millis());
        } catch (RuntimeException e) {
            LOG.error("Could not write last-seen times at shutdown", e);
        }
    }
}
