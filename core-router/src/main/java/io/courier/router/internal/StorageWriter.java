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
 * <p>The queue is shared fairly: each session may have at most {@code share} units of work
 * waiting in it ({@link WriterCommand#units()}: a command, or an acknowledgement's ids), taken
 * when its command is queued and given back once the writer has answered it. A session over its
 * share is refused on its own connection while others still find room, and since the queue is
 * drained in arrival order no session's command waits behind more than {@code share} units of
 * any other session's work.
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

    /** What became of an {@link #offer}. */
    public enum Offered {
        /** Queued: the writer will answer it. */
        QUEUED,
        /** Refused: its session has its whole share of the queue waiting already. */
        SHARE_FULL,
        /** Refused: the queue is full, or the writer is closing. */
        QUEUE_FULL
    }

    private final ManyToOneConcurrentArrayQueue<WriterCommand> queue;
    private final BatchStaging staging;
    private final SessionLookup sessions;
    private final RouterMetrics metrics;
    private final int maxBatch;
    private final int share;
    private final Thread thread;
    private final Consumer<WriterCommand> stager;
    private volatile boolean running = true;
    private volatile boolean parked;

    /** @param share the units of work one session may have waiting ({@code router.writer-share}). */
    public StorageWriter(BatchStaging staging, SessionLookup sessions, RouterMetrics metrics, int queueCapacity,
                         int maxBatch, int share) {
        this.share = share;
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
     * Queues a command, counting it against its session's share. Never blocks; the I/O thread of
     * the command's session (or any thread for a command without one).
     *
     * @return {@link Offered#QUEUED}, or why not: then nothing was queued and the caller answers
     *         OVERLOADED, nothing was stored.
     */
    public Offered offer(WriterCommand command) {
        Session session = command.session();
        int units = command.units();
        if (session != null && !session.tryTakeWriterUnits(units, share)) {
            metrics.writerShareFull();
            return Offered.SHARE_FULL;
        }
        if (!running || !queue.offer(command)) {
            if (session != null) {
                session.releaseWriterUnits(units);
            }
            return Offered.QUEUE_FULL;
        }
        if (parked) {
            LockSupport.unpark(thread);
        }
        return Offered.QUEUED;
    }

    /** The units of work one session may have waiting ({@code router.writer-share}). */
    public int share() {
        return share;
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

    /**
     * Sends what the last batch produced (replies first, then welcomes, then offers), gives the
     * batch's units back to their sessions, then resets the staging.
     */
    private void answer() {
        for (BatchStaging.Reply reply : staging.replies()) {
            Frame frame = reply.frame();
            if (frame.hasError() && frame.getError().getFatal()) {
                reply.connection().closeWithError(frame.getError());
            } else {
                reply.connection().send(frame);
            }
            if (frame.hasError()) {
                metrics.error(frame.getError().getCode());
            }
        }
        metrics.framesOut(staging.replies().size());
        for (BatchStaging.Welcome welcome : staging.welcomes()) {
            welcome.session().welcome(welcome.frame());
        }
        for (BatchStaging.Offer offer : staging.offers()) {
            Session session = sessions.session(offer.owner());
            if (session != null) {
                session.offer(offer.message());
            }
        }
        for (WriterCommand command : staging.staged()) {
            if (command.session() != null) {
                command.session().releaseWriterUnits(command.units());
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
