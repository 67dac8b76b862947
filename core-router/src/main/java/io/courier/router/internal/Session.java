package io.courier.router.internal;

import io.courier.storage.DeviceId;
import io.courier.storage.StoredMessage;
import io.courier.transport.Connection;
import io.courier.transport.proto.Frame;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;

/**
 * One connected device: the design's "process per user". Created on hello, gone on disconnect.
 *
 * <p>Any thread may {@link #offer} a committed inbox entry; only the connection's I/O thread
 * drains. Delivery never reorders or skips: the inbox in storage is the truth and the mailbox a
 * fast path. An entry is written only when its server id is above {@code lastSentId}; when the
 * mailbox overflows, or on (re)connect, the session re-reads its inbox from storage after
 * {@code lastSentId} before it uses the mailbox again, and an entry polled after an overflow was
 * flagged is dropped rather than written, since an entry before it may be the one that did not fit. Because ids increase in commit order and
 * every offered entry was committed before it was offered, this sends every pending entry once
 * per connection, in order. On a store other servers commit into too, an offer also names the
 * highest id its inbox held before it ({@link BatchStaging.Offer#after()}): an entry is written
 * from the mailbox only when the connection was sent that id already, and otherwise the session
 * reads its inbox, where an entry another server committed in between is.
 *
 * <p>A session also carries what bounds its connection's claim on shared resources: its
 * {@link RateLimiter} (I/O thread only) and its share of the storage writer's queue (the work it
 * has waiting there, taken by the I/O thread and given back by the writer). Nothing is drained
 * before its {@link #welcome} is written; a session whose hello the writer refused is
 * {@link #helloRefused()}: what it still sends is ignored.
 *
 * <p>An idle session holds no mailbox: the first {@link #offer} makes one (published by CAS, so
 * concurrent offerers agree on it), and the I/O thread releases it when a {@link #sweepMailbox
 * sweep} finds nothing was offered since the previous one and it is empty. An offer that raced
 * with the release (its entry may sit in the released queue, which nobody polls any more) sees
 * the mailbox changed after its offer and makes the session re-read its inbox, where the entry
 * already is; the I/O thread does the same if the queue it released was not empty after all.
 */
public final class Session implements Runnable {

    /** How many mailbox entries one drain writes before yielding the I/O thread to others. */
    private static final int DRAIN_LIMIT = 256;
    private static final AtomicIntegerFieldUpdater<Session> WRITER_UNITS =
        AtomicIntegerFieldUpdater.newUpdater(Session.class, "writerUnits");
    private static final AtomicIntegerFieldUpdater<Session> IN_WRITER_ROUND =
        AtomicIntegerFieldUpdater.newUpdater(Session.class, "inWriterRound");
    private static final AtomicIntegerFieldUpdater<Session> READS_PAUSED =
        AtomicIntegerFieldUpdater.newUpdater(Session.class, "readsPaused");
    private static final AtomicIntegerFieldUpdater<Session> SCHEDULED =
        AtomicIntegerFieldUpdater.newUpdater(Session.class, "scheduled");
    @SuppressWarnings("rawtypes")
    private static final AtomicReferenceFieldUpdater<Session, ManyToOneConcurrentArrayQueue> MAILBOX =
        AtomicReferenceFieldUpdater.newUpdater(Session.class, ManyToOneConcurrentArrayQueue.class, "mailbox");

    private final DeviceId device;
    private final Connection connection;
    private final int mailboxCapacity;
    private final InboxReader reader;
    private final RouterMetrics metrics;
    private final long openedAtMs;
    private final long resumedAfter;

    private final RateLimiter limiter;

    // Null while nothing waits: made by the first offer, released by the I/O thread (see the class comment).
    private volatile ManyToOneConcurrentArrayQueue<BatchStaging.Offer> mailbox;
    // Set by offers, cleared by sweeps: a mailbox offered nothing between two sweeps is released.
    private volatile boolean offeredSinceSweep;
    // The sweeper asked the I/O thread to release the mailbox if it is still empty.
    private volatile boolean releaseRequested;
    // 1 while a run() is queued on the I/O thread.
    private volatile int scheduled;
    private volatile boolean resync = true;
    private volatile long lastActivityMs;
    private volatile boolean helloRefused;
    // Work waiting for the storage writer: taken on the I/O thread, given back by the writer.
    private volatile int writerUnits;
    // 1 while the writer has stopped reading from this connection (back-pressure).
    private volatile int readsPaused;
    // This session's commands waiting for the writer, made on its first; 1 while in the writer's round.
    private volatile Queue<WriterCommand> writerCommands;
    private volatile int inWriterRound;
    /** The writer's number of the batch in which this session last had a turn. Writer thread only. */
    long writerBatch;
    // Touched only on the connection's I/O thread.
    private long lastSentId;
    private boolean reading;
    private boolean closed;
    private boolean welcomed;
    /** The last inbox page read, written up to {@link #pageNext}: the rest waits for writability. */
    private List<StoredMessage> page = List.of();
    private int pageNext;
    private boolean pageFull;
    private long credentialsIssuedAtMs = io.courier.router.auth.AuthResult.UNKNOWN_ISSUE_TIME;
    private long number;

    /** Reads a page of a device's pending inbox off the I/O thread and hands it back. */
    public interface InboxReader {
        void readPage(Session session, long afterServerId);
    }

    /**
     * @param mailboxCapacity entries the mailbox holds; 0 for none, when every offer makes the
     *                        session re-read its inbox instead.
     * @param limiter         this connection's rate limits, fresh (full).
     */
    public Session(DeviceId device, Connection connection, int mailboxCapacity, long resumeAfter, long nowMs,
            InboxReader reader, RouterMetrics metrics, RateLimiter limiter) {
        this.limiter = limiter;
        this.device = device;
        this.connection = connection;
        this.mailboxCapacity = mailboxCapacity;
        this.lastSentId = resumeAfter;
        this.resumedAfter = resumeAfter;
        this.lastActivityMs = nowMs;
        this.openedAtMs = nowMs;
        this.reader = reader;
        this.metrics = metrics;
    }

    public DeviceId device() {
        return device;
    }

    /** This session's number on this server, unique on it: how other nodes name it. */
    public long number() {
        return number;
    }

    /** Set once, before the session is registered. */
    public void number(long value) {
        this.number = value;
    }

    /**
     * When the credentials this session said hello with were issued, or
     * {@link io.courier.router.auth.AuthResult#UNKNOWN_ISSUE_TIME}. Set once, before the session
     * is put in the session table (which publishes it to other threads).
     */
    public long credentialsIssuedAtMs() {
        return credentialsIssuedAtMs;
    }

    public void credentialsIssuedAtMs(long issuedAtMs) {
        this.credentialsIssuedAtMs = issuedAtMs;
    }

    public Connection connection() {
        return connection;
    }

    public long lastActivityMs() {
        return lastActivityMs;
    }

    public long openedAtMs() {
        return openedAtMs;
    }

    /** The resume point of this connection's hello: entries at or below it are not sent on it. */
    public long resumedAfter() {
        return resumedAfter;
    }

    /**
     * The highest server id written to this connection so far ({@link #resumedAfter()} before the
     * first). Every pending entry of the device's inbox above the resume point and up to this id
     * has been written to this connection; none above it has. I/O thread only.
     */
    public long lastSentId() {
        return lastSentId;
    }

    public void touchNow(long nowMs) {
        lastActivityMs = nowMs;
    }

    /** This connection's rate limits. I/O thread only. */
    public RateLimiter limiter() {
        return limiter;
    }

    /**
     * Takes {@code units} of this session's share of the writer's queue, if the work it has
     * waiting there stays within {@code share}. Only the I/O thread takes (so the check and the
     * add cannot race with another taker); the writer gives back with {@link #releaseWriterUnits}.
     */
    boolean tryTakeWriterUnits(int units, int share) {
        if (writerUnits + units > share) {
            return false;
        }
        WRITER_UNITS.addAndGet(this, units);
        return true;
    }

    /** Gives back what {@link #tryTakeWriterUnits} took, once the writer has answered that work. Any thread. */
    void releaseWriterUnits(int units) {
        WRITER_UNITS.addAndGet(this, -units);
    }

    /**
     * This session's commands waiting for the storage writer, in arrival order; made on first use
     * (by the I/O thread, which offers; the writer polls once the session is in its round).
     */
    Queue<WriterCommand> writerCommands() {
        Queue<WriterCommand> commands = writerCommands;
        if (commands == null) {
            commands = new ConcurrentLinkedQueue<>();
            writerCommands = commands;
        }
        return commands;
    }

    /** True when this call marked the connection's reads paused (they were not). */
    boolean pauseReads() {
        return READS_PAUSED.compareAndSet(this, 0, 1);
    }

    /** Clears the mark {@link #pauseReads} set. */
    void readsResumed() {
        readsPaused = 0;
    }

    /** True when this call put the session in the writer's round (it was in none). */
    boolean enterWriterRound() {
        return IN_WRITER_ROUND.compareAndSet(this, 0, 1);
    }

    /** The writer took the session out of its round (it found nothing more waiting). */
    void leaveWriterRound() {
        inWriterRound = 0;
    }

    /** Work this session has waiting for the storage writer, in units. */
    public int writerUnits() {
        return writerUnits;
    }

    /** The writer refused this session's hello (and closes its connection): ignore what it sends. */
    void refuseHello() {
        helloRefused = true;
    }

    public boolean helloRefused() {
        return helloRefused;
    }

    /**
     * Writes the Welcome that completes this session's hello, then starts draining its inbox:
     * no entry is written before it. Any thread: it runs on the I/O thread.
     */
    public void welcome(Frame welcome) {
        if (!connection.inExecutor()) {
            connection.executor().execute(() -> welcome(welcome));
            return;
        }
        if (closed || helloRefused) {
            return;
        }
        connection.write(welcome);
        connection.flush();
        metrics.frameOut();
        welcomed = true;
        drain();
    }

    /** Entries waiting in the mailbox (for the mailbox-depth gauge). */
    public int mailboxDepth() {
        ManyToOneConcurrentArrayQueue<BatchStaging.Offer> box = mailbox;
        return box == null ? 0 : box.size();
    }

    /** True while this session holds a mailbox (made by an offer, not yet released). */
    boolean hasMailbox() {
        return mailbox != null;
    }

    /**
     * Hands a committed entry to this session. Never blocks, never loses: a full mailbox makes the
     * session re-read its inbox, where the entry already is.
     */
    void offer(StoredMessage message) {
        offer(new BatchStaging.Offer(device, message, BatchStaging.Offer.UNORDERED));
    }

    /**
     * Hands a committed entry to this session, to be delivered as it is once the session was sent
     * the entry's {@code after} (at once, when it is {@link BatchStaging.Offer#UNORDERED}); when it
     * was not, an entry another server committed before it has not reached this session, and the
     * session reads its inbox instead, where both are. Never blocks, never loses.
     */
    public void offer(BatchStaging.Offer message) {
        if (mailboxCapacity == 0) {
            // No mailbox (a store other servers write too): the inbox is read instead.
            storeChanged();
            return;
        }
        if (!offeredSinceSweep) {
            offeredSinceSweep = true;
        }
        ManyToOneConcurrentArrayQueue<BatchStaging.Offer> box = mailbox;
        if (box == null) {
            box = new ManyToOneConcurrentArrayQueue<>(mailboxCapacity);
            if (!MAILBOX.compareAndSet(this, null, box)) {
                // Another offerer made one first (or it has been made and released since): use what is there now.
                box = installedMailbox();
            }
        }
        if (!box.offer(message)) {
            resync = true;
            metrics.mailboxFull();
        } else if (mailbox != box) {
            // Released while we offered: nobody polls that queue any more. The entry is in the inbox.
            resync = true;
        }
        schedule();
    }

    /** The mailbox now installed, making one if there is none. Any thread. */
    @SuppressWarnings("unchecked")
    private ManyToOneConcurrentArrayQueue<BatchStaging.Offer> installedMailbox() {
        while (true) {
            ManyToOneConcurrentArrayQueue<BatchStaging.Offer> box = mailbox;
            if (box != null) {
                return box;
            }
            box = new ManyToOneConcurrentArrayQueue<>(mailboxCapacity);
            if (MAILBOX.compareAndSet(this, null, box)) {
                return box;
            }
        }
    }

    /**
     * Called by the sweeper on each sweep: if nothing was offered since the previous sweep, the
     * I/O thread releases the mailbox (when it is empty), so a session that went quiet holds none.
     */
    void sweepMailbox() {
        if (mailbox == null) {
            return;
        }
        if (offeredSinceSweep) {
            offeredSinceSweep = false;
            return;
        }
        releaseRequested = true;
        schedule();
    }

    /** I/O thread only: drops an empty mailbox; the next offer makes a new one. */
    private void releaseMailboxIfEmpty() {
        ManyToOneConcurrentArrayQueue<BatchStaging.Offer> box = mailbox;
        if (box == null || !box.isEmpty() || offeredSinceSweep) {
            return;
        }
        if (MAILBOX.compareAndSet(this, box, null) && !box.isEmpty()) {
            // An offer landed between the check and the release; it sees the change too. Its entry
            // is in the inbox: read it from there.
            resync = true;
            schedule();
        }
    }

    /**
     * Entries were committed into this device's inbox that the mailbox may not hold (another
     * server committed them): the session re-reads its inbox after the last entry it sent. Any
     * thread; signals that arrive while a read is under way make one more read after it.
     */
    public void storeChanged() {
        resync = true;
        schedule();
    }

    /** Makes sure a drain runs soon on the I/O thread; at most one is queued at a time. */
    public void schedule() {
        if (SCHEDULED.compareAndSet(this, 0, 1)) {
            connection.executor().execute(this);
        }
    }

    @Override
    public void run() {
        scheduled = 0;
        drain();
        if (releaseRequested) {
            releaseRequested = false;
            if (!closed) {
                releaseMailboxIfEmpty();
            }
        }
    }

    /**
     * I/O thread only. Writes while the connection is writable, checked before every entry: a
     * drain never queues more than one entry past the transport's high-water mark, so what waits
     * for a device that reads slowly stays small however large its entries are (the rest stays in
     * the inbox and the mailbox until the connection drains).
     */
    private void drain() {
        if (closed || reading || !welcomed || !connection.isWritable()) {
            // Not writable: onWritabilityChanged schedules us again. Reading: onPageArrived does.
            // Not welcomed: welcome() drains.
            return;
        }
        int written = 0;
        while (pageNext < page.size() && connection.isWritable()) {
            written += writeIfNew(page.get(pageNext++));
        }
        if (pageNext < page.size()) {
            flush(written);
            return;
        }
        if (!page.isEmpty()) {
            resync |= pageFull;
            page = List.of();
            pageNext = 0;
        }
        if (resync) {
            flush(written);
            resync = false;
            reading = true;
            reader.readPage(this, lastSentId);
            return;
        }
        ManyToOneConcurrentArrayQueue<BatchStaging.Offer> box = mailbox;
        if (box == null) {
            flush(written);
            return;
        }
        BatchStaging.Offer offered;
        while (written < DRAIN_LIMIT && connection.isWritable() && (offered = box.poll()) != null) {
            if (resync) {
                // An offer failed, so entries after it may be missing from the mailbox: what we
                // polled may come after a gap. Drop it (it is in the inbox) and re-read the inbox.
                break;
            }
            if (offered.after() > lastSentId && offered.message().serverId() > lastSentId) {
                // The inbox held an entry before this one that this connection was not sent (another
                // server committed it, its offer is still on its way or was lost): read the inbox.
                resync = true;
                break;
            }
            written += writeIfNew(offered.message());
        }
        flush(written);
        if (connection.isWritable() && (resync || !box.isEmpty())) {
            schedule();
        }
    }

    /**
     * A page read from storage after {@code afterServerId}; called on the I/O thread. It is written
     * as far as the connection is writable, the rest when it is writable again.
     *
     * @param full true when the page was full, so more may follow.
     */
    public void onPageArrived(List<StoredMessage> page, boolean full) {
        reading = false;
        if (closed) {
            return;
        }
        this.page = page;
        this.pageNext = 0;
        this.pageFull = full;
        drain();
    }

    /** Writes {@code message} unless this connection already got it; returns the count written. */
    private int writeIfNew(StoredMessage message) {
        if (message.serverId() <= lastSentId) {
            return 0;
        }
        connection.write(MessageFrames.toFrame(message));
        lastSentId = message.serverId();
        return 1;
    }

    private void flush(int written) {
        if (written > 0) {
            connection.flush();
            metrics.framesOut(written);
        }
    }

    /** A page read failed: the connection is closed by the caller; stop draining. */
    public void onPageFailed() {
        reading = false;
    }

    /** The connection closed; later offers are ignored by the I/O thread. */
    public void markClosed() {
        closed = true;
        mailbox = null;
        page = List.of();
    }

    @Override
    public String toString() {
        return "Session[" + device + " on " + connection.transport() + " #" + connection.id() + "]";
    }
}
