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
 * sessions silent for {@code router.missed-heartbeats} intervals, writes last-seen times to the
 * presence store, ends the coalescing windows of presence subscriptions, and has sessions that
 * were offered nothing since the previous sweep release their (empty) mailboxes.
 *
 * <p>Presence-store writes are bounded whatever the beat rate: while a user is online, the last
 * activity of their sessions (in memory) is the truth and nothing is written for it, except a
 * checkpoint every {@code router.presence-flush-interval-ms} (so a crash loses at most that much);
 * when a device disconnects, its last activity is written at the next sweep. So over a time T the
 * store takes at most one row per online user per checkpoint, plus one per disconnect: for U users
 * online throughout, U &times; &lfloor;T / interval&rfloor; rows, never a row per heartbeat.
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
    private volatile PresenceService subscriptions;
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

    /** The presence subscriptions whose coalescing windows each sweep ends. */
    public void presenceService(PresenceService service) {
        this.subscriptions = service;
    }

    /**
     * Starts sweeping every half heartbeat interval, or every half hello timeout when that is
     * shorter (but not more often than every 50 ms), so neither limit is overshot by more than half.
     * A held presence change goes out at the first sweep after its coalescing window.
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
            // Its last frame, not the time of the close: a session closed for missed beats was last
            // seen when it last beat.
            lastSeen.merge(session.device().user(), session.lastActivityMs(), Math::max);
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
     * said hello (NOT_AUTHENTICATED), writes the last-seen times of users who went offline (and
     * of everyone online, when the checkpoint interval has passed), and announces the presence
     * changes whose coalescing window has ended. Runs on the timer thread; tests with a fake clock
     * call it directly: when it returns, those announcements have been sent.
     */
    public synchronized void sweep() {
        // Synchronized: the timer's sweep and a test's never overlap, so no checkpoint is taken twice.
        long now = clock.millis();
        long idleLimit = idleLimitMs();
        sessions.forEach(session -> {
            session.sweepMailbox();
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
        } else {
            writeLastSeen(Map.copyOf(lastSeen));
        }
        PresenceService service = subscriptions;
        if (service != null) {
            service.sweep(now);
        }
    }

    /**
     * The checkpoint: writes the last activity of every online user and of everyone who left
     * since the last write.
     */
    public synchronized void flushPresence(long now) {
        lastPresenceFlushMs = now;
        Map<String, Long> batch = new java.util.HashMap<>(lastSeen);
        sessions.forEach(session -> batch.merge(session.device().user(), session.lastActivityMs(), Math::max));
        writeLastSeen(batch);
    }

    private void writeLastSeen(Map<String, Long> batch) {
        if (batch.isEmpty()) {
            return;
        }
        presence.saveLastSeen(batch);
        metrics.presenceWrites(batch.size());
        // Only what was written: a later time recorded meanwhile stays for the next write.
        batch.forEach((user, written) -> lastSeen.computeIfPresent(user, (u, at) -> at <= written ? null : at));
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
