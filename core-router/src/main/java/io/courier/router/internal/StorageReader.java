package io.courier.router.internal;

import io.courier.storage.MessageStore;
import io.courier.storage.StoredMessage;
import io.courier.transport.Frames;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The router's blocking storage calls that are not group-committed, on two threads of their own so
 * that no I/O thread ever waits for storage: inbox pages for sessions that (re)connect or whose
 * mailbox overflowed ({@link #readPage}), and the single-key reads and writes that presence
 * queries and key bundles need ({@link #call}). Results go back to the connection; an inbox page
 * goes back on the connection's I/O thread, where its session continues.
 */
public final class StorageReader implements Session.InboxReader, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StorageReader.class);

    private final MessageStore messages;
    private final int pageSize;
    private final RouterMetrics metrics;
    private final ExecutorService executor;
    // Reads again, later, the inboxes whose read failed.
    private final ScheduledExecutorService retries;
    static final long RETRY_MS = 1_000;

    /**
     * @param pageSize inbox entries per read ({@code router.drain-page-size}).
     */
    public StorageReader(MessageStore messages, int pageSize, RouterMetrics metrics) {
        this.messages = messages;
        this.pageSize = pageSize;
        this.metrics = metrics;
        AtomicInteger count = new AtomicInteger();
        this.executor = Executors.newFixedThreadPool(2, runnable -> {
            Thread thread = new Thread(runnable, "courier-storage-reader-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        this.retries = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "courier-storage-retry");
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Reads the next page of {@code session}'s pending inbox after {@code afterServerId} and hands
     * it to {@link Session#onPageArrived} on the connection's I/O thread. A failed read (storage
     * away) keeps the connection: the session reads again {@value #RETRY_MS} ms later, and on until
     * storage answers, so nothing waits for the device to reconnect; after {@link #close()} the
     * session just stops reading.
     */
    @Override
    public void readPage(Session session, long afterServerId) {
        try {
            executor.execute(() -> {
                try {
                    List<StoredMessage> page = messages.pending(session.device(), afterServerId, pageSize);
                    session.connection().executor().execute(() -> session.onPageArrived(page, page.size() == pageSize));
                } catch (RuntimeException e) {
                    LOG.warn("Reading the inbox of {} failed; reading it again in {} ms: {}", session.device(), RETRY_MS,
                        e.toString());
                    metrics.inboxReadFailed();
                    session.connection().executor().execute(session::onPageFailed);
                    try {
                        retries.schedule(session::storeChanged, RETRY_MS, TimeUnit.MILLISECONDS);
                    } catch (RejectedExecutionException closing) {
                        // Shutting down: the session ends with its connection.
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            session.connection().executor().execute(session::onPageFailed);
        }
    }

    /**
     * Runs {@code task}, a blocking storage call answering {@code frame} from {@code session}.
     * When it throws, the device gets a non-fatal INTERNAL naming the frame's request id; after
     * {@link #close()}, SHUTTING_DOWN.
     */
    public void call(Session session, Frame frame, Runnable task) {
        try {
            executor.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.error("Storage call for {} from {} failed", bodyName(frame), session.device(), e);
                    answer(session, Error.Code.INTERNAL, "Storage failed; try again", frame);
                }
            });
        } catch (RejectedExecutionException e) {
            answer(session, Error.Code.SHUTTING_DOWN, "Server is shutting down", frame);
        }
    }

    /**
     * Runs {@code task}, a blocking storage call that answers no frame (a notice the server sends
     * on its own). When it throws, the failure is logged naming {@code what}; after
     * {@link #close()} it is not run.
     */
    public void run(String what, Runnable task) {
        try {
            executor.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.error("Storage call for {} failed", what, e);
                }
            });
        } catch (RejectedExecutionException e) {
            LOG.debug("Not reading {}: shutting down", what);
        }
    }

    private void answer(Session session, Error.Code code, String text, Frame frame) {
        session.connection().send(Frames.error(code, text, frame.getRequestId()));
        metrics.error(code);
    }

    private static String bodyName(Frame frame) {
        return frame.getBodyCase().name().toLowerCase(Locale.ROOT);
    }

    /** Finishes the calls already queued (up to 10 s), then stops. */
    @Override
    public void close() {
        retries.shutdownNow();
        executor.shutdown();
        try {
            if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
