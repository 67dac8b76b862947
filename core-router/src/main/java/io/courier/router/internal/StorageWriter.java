package io.courier.router.internal;

import io.courier.storage.DeviceId;
import io.courier.transport.proto.Frame;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that changes the message store. I/O threads {@link #offer} {@link WriterCommand}s
 * into a bounded queue; the writer drains up to {@code maxBatch} of them into its
 * {@link BatchStaging}, commits them as one batch (group commit), and only then answers: replies
 * (single ticks, errors) to their connections, committed entries to the live sessions of their
 * owners. A full queue is refused at once ({@code OVERLOADED} at the caller), never waited on.
 *
 * <p>Everything this class does is the thread: draining, parking when idle, and handing out
 * what a batch produced. What a command means is {@link BatchStaging}'s business.
 */
public final class StorageWriter implements Runnable, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StorageWriter.class);

    /** Where committed entries go: the live session of a device, if any. */
    public interface SessionLookup {
        Session session(DeviceId device);
    }

    private final ManyToOneConcurrentArrayQueue<WriterCommand> queue;
    private final BatchStaging staging;
    private final SessionLookup sessions;
    private final RouterMetrics metrics;
    private final int maxBatch;
    private final Thread thread;
    private final Consumer<WriterCommand> stager;
    private volatile boolean running = true;
    private volatile boolean parked;

    public StorageWriter(BatchStaging staging, SessionLookup sessions, RouterMetrics metrics, int queueCapacity,
                         int maxBatch) {
        this.queue = new ManyToOneConcurrentArrayQueue<>(queueCapacity);
        this.staging = staging;
        this.sessions = sessions;
        this.metrics = metrics;
        this.maxBatch = maxBatch;
        this.stager = staging::stage;
        this.thread = new Thread(this, "courier-storage-writer");
        this.thread.setDaemon(true);
        metrics.gauge("courier.storage.queue.depth", "Commands waiting for the storage writer", queue,
            ManyToOneConcurrentArrayQueue::size);
    }

    public void start() {
        thread.start();
    }

    /**
     * Queues a command. Never blocks; any thread.
     *
     * @return false when the queue is full or the writer is closing: the caller answers
     *         OVERLOADED, nothing was stored.
     */
    public boolean offer(WriterCommand command) {
        if (!running || !queue.offer(command)) {
            return false;
        }
        if (parked) {
            LockSupport.unpark(thread);
        }
        return true;
    }

    @Override
    public void run() {
        while (running || !queue.isEmpty()) {
            int drained;
            try {
                drained = queue.drain(stager, maxBatch);
            } catch (BatchStaging.StagingFailedException e) {
                LOG.error("Storage read failed while preparing a batch; refusing {} commands", staging.stagedCount(),
                    e.getCause());
                staging.refuse();
                answer();
                continue;
            }
            if (drained == 0) {
                parked = true;
                // Re-check after announcing we park, so an offer in between is never missed.
                if (queue.isEmpty() && running) {
                    LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(100));
                }
                parked = false;
                continue;
            }
            staging.commit();
            answer();
        }
    }

    /** Sends what the last batch produced (replies first, then offers), then resets the staging. */
    private void answer() {
        for (BatchStaging.Reply reply : staging.replies()) {
            Frame frame = reply.frame();
            reply.connection().send(frame);
            if (frame.hasError()) {
                metrics.error(frame.getError().getCode());
            }
        }
        metrics.framesOut(staging.replies().size());
        for (BatchStaging.Offer offer : staging.offers()) {
            Session session = sessions.session(offer.owner());
            if (session != null) {
                session.offer(offer.message());
            }
        }
        staging.reset();
    }

    /** Commits what is queued, then stops the thread. */
    @Override
    public void close() {
        running = false;
        LockSupport.unpark(thread);
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
