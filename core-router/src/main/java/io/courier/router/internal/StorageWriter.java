package io.courier.router.internal;

import io.courier.storage.DeviceId;
import io.courier.transport.proto.Frame;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that changes the message store. I/O threads {@link #offer} {@link WriterCommand}s;
 * the writer takes up to {@code maxBatch} of them into its {@link BatchStaging}, commits them as
 * one batch (group commit), and only then answers: replies (single ticks, errors) to their
 * connections, committed entries to the live sessions of their owners. Nothing is ever waited on:
 * a command that does not fit is refused at once ({@code OVERLOADED} at the caller).
 *
 * <p>The writer is shared fairly between sessions, in room and in turn:
 * <ul>
 *   <li><b>Room.</b> Each session may have at most {@code share} units of work waiting
 *       ({@link WriterCommand#units()}: one per command, or per id of an acknowledgement), taken
 *       when its command is offered and given back once the writer has answered it; over its
 *       share it is refused on its own connection. All sessions together may have at most
 *       {@code capacity} commands waiting ({@code router.writer-queue-capacity}), the last
 *       resort.</li>
 *   <li><b>Turn.</b> Each session's commands wait in a queue of their own, in arrival order, and
 *       the writer takes them round-robin: at most {@value #QUANTUM} units of one session, then
 *       the next session with work, and one turn each per batch while others are waiting, so a
 *       session's command waits for at most two rounds — the batch being committed and its own —
 *       of at most one quantum from each busy session, not behind everything they queued. A
 *       session alone with work fills the batch (group commit). A session's queue is made on its
 *       first command; a session with nothing waiting is in no round.</li>
 * </ul>
 * Commands without a session (built by tests) wait in one queue of their own, taken first.
 *
 * <p>Everything this class does is the thread: taking turns, parking when idle, and handing out
 * what a batch produced. What a command means is {@link BatchStaging}'s business.
 */
public final class StorageWriter implements Runnable, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StorageWriter.class);
    /** The most units of one session's work taken in one turn (at least one command). */
    static final int QUANTUM = 64;

    /** Where committed entries go: the live session of a device, if any. */
    public interface SessionLookup {
        Session session(DeviceId device);
    }

    /** What became of an {@link #offer}. */
    public enum Offered {
        /** Queued: the writer will answer it. */
        QUEUED,
        /** Refused: its session has its whole share of the writer waiting already. */
        SHARE_FULL,
        /** Refused: the writer has its whole capacity waiting, or is closing. */
        QUEUE_FULL
    }

    /** Sessions with work waiting, each at most once (its {@link Session#enterWriterRound()}), in turn order. */
    private final Queue<Session> round = new ConcurrentLinkedQueue<>();
    private final ManyToOneConcurrentArrayQueue<WriterCommand> unowned;
    private final AtomicInteger waiting = new AtomicInteger();
    private final BatchStaging staging;
    private final SessionLookup sessions;
    private final RouterMetrics metrics;
    private final int capacity;
    private final int maxBatch;
    private final int share;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile boolean parked;
    // Batches taken so far; a session's writerBatch says in which it last had a turn. Writer thread only.
    private long batches;

    /**
     * @param capacity commands all sessions together may have waiting ({@code router.writer-queue-capacity}).
     * @param share    units of work one session may have waiting ({@code router.writer-share}).
     */
    public StorageWriter(BatchStaging staging, SessionLookup sessions, RouterMetrics metrics, int capacity,
                         int maxBatch, int share) {
        this.capacity = capacity;
        this.share = share;
        this.unowned = new ManyToOneConcurrentArrayQueue<>(capacity);
        this.staging = staging;
        this.sessions = sessions;
        this.metrics = metrics;
        this.maxBatch = maxBatch;
        this.thread = new Thread(this, "courier-storage-writer");
        this.thread.setDaemon(true);
        metrics.gauge("courier.storage.queue.depth", "Commands waiting for the storage writer", waiting,
            AtomicInteger::get);
    }

    public void start() {
        thread.start();
    }

    /**
     * Queues a command, counting it against its session's share and the writer's capacity. Never
     * blocks; the I/O thread of the command's session (any thread for a command without one).
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
        if (!running || waiting.incrementAndGet() > capacity) {
            waiting.decrementAndGet();
            if (session != null) {
                session.releaseWriterUnits(units);
            }
            return Offered.QUEUE_FULL;
        }
        if (session == null) {
            if (!unowned.offer(command)) {
                waiting.decrementAndGet();
                return Offered.QUEUE_FULL;
            }
        } else {
            session.writerCommands().offer(command);
            if (session.enterWriterRound()) {
                round.offer(session);
            }
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
        while (running || hasWork()) {
            int taken;
            try {
                taken = takeBatch();
            } catch (BatchStaging.StagingFailedException e) {
                LOG.error("Storage read failed while preparing a batch; refusing {} commands", staging.stagedCount(),
                    e.getCause());
                staging.refuse();
                answer();
                continue;
            }
            if (taken == 0) {
                parked = true;
                // Re-check after announcing we park, so an offer in between is never missed.
                if (!hasWork() && running) {
                    LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(100));
                }
                parked = false;
                continue;
            }
            staging.commit();
            answer();
        }
    }

    private boolean hasWork() {
        return !unowned.isEmpty() || !round.isEmpty();
    }

    /**
     * Stages up to {@code maxBatch} commands: those without a session first, then the sessions'
     * in turn, a quantum each, one turn each while others are waiting.
     *
     * @return how many were staged.
     * @throws BatchStaging.StagingFailedException from staging; the session whose turn it was keeps its place.
     */
    private int takeBatch() {
        int taken = 0;
        WriterCommand command;
        while (taken < maxBatch && (command = unowned.poll()) != null) {
            taken++;
            staging.stage(command);
        }
        Session session;
        batches++;
        while (taken < maxBatch && (session = round.poll()) != null) {
            if (session.writerBatch == batches && !round.isEmpty()) {
                // Every session waiting has had its turn in this batch: the next turns are the
                // next batch's, so a session that arrives now waits for one round, not for a
                // batch of maxBatch. A session alone in the round goes on filling the batch.
                round.offer(session);
                break;
            }
            session.writerBatch = batches;
            Queue<WriterCommand> commands = session.writerCommands();
            int units = 0;
            try {
                while (units < QUANTUM && taken < maxBatch && (command = commands.poll()) != null) {
                    taken++;
                    units += command.units();
                    staging.stage(command);
                }
            } finally {
                endTurn(session, commands);
            }
        }
        return taken;
    }

    /** Puts {@code session} at the end of the round if it has more waiting, else takes it out. */
    private void endTurn(Session session, Queue<WriterCommand> commands) {
        if (!commands.isEmpty()) {
            round.offer(session);
            return;
        }
        session.leaveWriterRound();
        // Its I/O thread may have queued a command after the poll above and found it still in
        // the round: look again now that it is out, and take it back in if so.
        if (!commands.isEmpty() && session.enterWriterRound()) {
            round.offer(session);
        }
    }

    /**
     * Sends what the last batch produced (replies first, then offers), gives the
     * batch's units back to their sessions and its commands to the capacity, then resets the staging.
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
        waiting.addAndGet(-staging.stagedCount());
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
