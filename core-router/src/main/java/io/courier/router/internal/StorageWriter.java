package io.courier.router.internal;

import io.courier.router.cluster.ClusterLink;
import io.courier.storage.DeviceId;
import io.courier.transport.proto.Frame;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
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
 * <p><b>Where a batch runs.</b> On a backend whose commits wait for a disk or a network the
 * writer's own thread takes every batch, so no I/O thread ever waits for storage. On one whose
 * commits never wait (the memory backend; {@code router.writer}) the thread that offers a command
 * runs the batch itself when no batch is running — flat combining: whoever holds the turn takes
 * everything waiting, its own command and those other threads queued meanwhile, commits it and
 * answers. That removes two thread wake-ups per command (waking the writer, and the writer waking
 * the sender's event loop to write its single tick), which on a small machine cost more than the
 * commit. A thread that has run {@value #INLINE_BATCHES} batches in a row hands what is left to
 * the writer's thread, so no connection's I/O thread is held by others' work for long.
 *
 * <p>Everything else this class does is taking turns, parking when idle, and handing out what a
 * batch produced. What a command means is {@link BatchStaging}'s business.
 */
public final class StorageWriter implements Runnable, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StorageWriter.class);
    /** The most units of one session's work taken in one turn (at least one command). */
    static final int QUANTUM = 64;
    /** Batches an offering thread runs in a row before handing the rest to the writer's thread. */
    static final int INLINE_BATCHES = 4;

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
    // Sessions whose connections stopped reading because more than half the capacity waited.
    private final Queue<Session> paused = new ConcurrentLinkedQueue<>();
    private final BatchStaging staging;
    // Told of the devices a batch committed entries for that have no session here (a cluster's other nodes).
    private volatile Consumer<List<ClusterLink.Committed>> elsewhere;
    private final List<ClusterLink.Committed> notHere = new ArrayList<>();
    // The commands of the batch being taken, staged together once taken (one de-duplication read).
    private final List<WriterCommand> taking = new ArrayList<>();
    private final SessionLookup sessions;
    private final RouterMetrics metrics;
    private final int capacity;
    private final int maxBatch;
    private final int share;
    private final Thread thread;
    private final boolean inline;
    // Held by whichever thread is running batches: the writer's, or an offering one (inline).
    private final AtomicBoolean turn = new AtomicBoolean();
    private volatile boolean running = true;
    private volatile boolean parked;
    // Batches taken so far; a session's writerBatch says in which it last had a turn. Writer thread only.
    private long batches;

    /**
     * @param capacity commands all sessions together may have waiting ({@code router.writer-queue-capacity}).
     * @param share    units of work one session may have waiting ({@code router.writer-share}).
     * @param inline   whether offering threads run batches themselves when none is running
     *                 (for backends whose commits never wait).
     */
    public StorageWriter(BatchStaging staging, SessionLookup sessions, RouterMetrics metrics, int capacity,
                         int maxBatch, int share, boolean inline) {
        this.inline = inline;
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
        if (session != null && waiting.get() > capacity / 2) {
            pauseReads(session);
        }
        if (inline) {
            runInline();
        } else if (parked) {
            LockSupport.unpark(thread);
        }
        return Offered.QUEUED;
    }

    /**
     * Back-pressure: with more than half the capacity waiting, the connection that offered stops
     * reading until a quarter or less waits, so a burst from many connections waits in their
     * socket buffers instead of filling the writer and being refused. The mark comes first and
     * the check after it, so a resume that ran in between is never missed: with more than a
     * quarter waiting there is work, and every batch ends with {@link #resumeReads}.
     */
    private void pauseReads(Session session) {
        if (session.pauseReads()) {
            session.connection().setReading(false);
            paused.offer(session);
            metrics.readsPaused();
            resumeReads();
        }
    }

    /** Resumes every paused connection once a quarter of the capacity or less waits. Any thread. */
    private void resumeReads() {
        if (waiting.get() > capacity / 4) {
            return;
        }
        Session session;
        while ((session = paused.poll()) != null) {
            session.readsResumed();
            session.connection().setReading(true);
        }
    }

    /** Whether offering threads run batches themselves. */
    public boolean isInline() {
        return inline;
    }

    /**
     * Runs batches on this (offering) thread while there is work and no other thread holds the
     * turn. A thread that finds the turn held leaves: the holder looks for work again after giving
     * the turn back, so what this thread queued is never stranded. After {@value #INLINE_BATCHES}
     * batches the rest goes to the writer's thread. A command offered from within a batch's answers
     * (on this same thread) only queues, and the loop below takes it.
     */
    private void runInline() {
        int budget = INLINE_BATCHES;
        while (hasWork() && turn.compareAndSet(false, true)) {
            try {
                while (budget > 0 && runBatch()) {
                    budget--;
                }
            } finally {
                turn.set(false);
            }
            if (budget == 0) {
                if (hasWork()) {
                    LockSupport.unpark(thread);
                }
                return;
            }
        }
    }

    /** The units of work one session may have waiting ({@code router.writer-share}). */
    public int share() {
        return share;
    }

    @Override
    public void run() {
        // Also while an offering thread holds the turn, so that close() returns after its batch.
        while (running || hasWork() || turn.get()) {
            boolean worked = false;
            boolean held = turn.compareAndSet(false, true);
            if (held) {
                try {
                    while (runBatch()) {
                        worked = true;
                    }
                } finally {
                    turn.set(false);
                }
            }
            if (!worked) {
                parked = true;
                // Re-check after announcing we park, so an offer in between is never missed. When
                // an offering thread holds the turn, it hands over by unparking this one.
                if ((!held || !hasWork()) && running) {
                    LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(held ? 100 : 1));
                }
                parked = false;
            }
        }
    }

    /**
     * Takes, commits and answers one batch; the caller holds the turn.
     *
     * @return false when there was nothing to take.
     */
    private boolean runBatch() {
        int taken;
        try {
            taken = takeBatch();
        } catch (BatchStaging.StagingFailedException e) {
            LOG.error("Storage read failed while preparing a batch; refusing {} commands", staging.stagedCount(),
                e.getCause());
            staging.refuse();
            answer();
            return true;
        }
        if (taken == 0) {
            return false;
        }
        staging.commit();
        answer();
        return true;
    }

    private boolean hasWork() {
        return !unowned.isEmpty() || !round.isEmpty();
    }

    /**
     * Takes up to {@code maxBatch} commands: those without a session first, then the sessions'
     * in turn, a quantum each, one turn each while others are waiting; then stages them together.
     *
     * @return how many were staged.
     * @throws BatchStaging.StagingFailedException from staging; every command taken is refused.
     */
    private int takeBatch() {
        int taken = 0;
        WriterCommand command;
        while (taken < maxBatch && (command = unowned.poll()) != null) {
            taken++;
            taking.add(command);
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
                    taking.add(command);
                }
            } finally {
                endTurn(session, commands);
            }
        }
        if (taken > 0) {
            try {
                staging.stageAll(taking);
            } finally {
                taking.clear();
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
        Consumer<List<ClusterLink.Committed>> others = elsewhere;
        for (BatchStaging.Offer offer : staging.offers()) {
            Session session = sessions.session(offer.owner());
            if (session != null) {
                session.offer(offer);
            } else if (others != null) {
                notHere.add(new ClusterLink.Committed(offer.owner(), offer.message(), offer.after()));
            }
        }
        if (!notHere.isEmpty()) {
            others.accept(List.copyOf(notHere));
            notHere.clear();
        }
        for (WriterCommand command : staging.staged()) {
            if (command.session() != null) {
                command.session().releaseWriterUnits(command.units());
            }
            if (command instanceof WriterCommand.RegisterCommand register && register.registered() != null
                && (register.session() == null || !register.session().helloRefused())) {
                // The device is in the directory now, where other servers look for it.
                register.registered().run();
            }
        }
        waiting.addAndGet(-staging.stagedCount());
        staging.reset();
        if (!paused.isEmpty()) {
            resumeReads();
        }
    }

    /**
     * After each commit, {@code entries} gets what the batch committed for devices that have no
     * session here, in commit order: the nodes that serve them are signalled. Set before
     * {@link #start()}.
     */
    public void elsewhere(Consumer<List<ClusterLink.Committed>> entries) {
        this.elsewhere = entries;
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
