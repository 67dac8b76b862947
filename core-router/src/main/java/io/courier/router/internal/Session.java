package io.courier.router.internal;

import io.courier.storage.DeviceId;
import io.courier.storage.StoredMessage;
import io.courier.transport.Connection;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
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
 * per connection, in order.
 */
public final class Session implements Runnable {

    /** How many mailbox entries one drain writes before yielding the I/O thread to others. */
    private static final int DRAIN_LIMIT = 256;

    private final DeviceId device;
    private final Connection connection;
    private final ManyToOneConcurrentArrayQueue<StoredMessage> mailbox;
    private final InboxReader reader;
    private final RouterMetrics metrics;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final long openedAtMs;
    private final long resumedAfter;

    private volatile boolean resync = true;
    private volatile long lastActivityMs;
    // Touched only on the connection's I/O thread.
    private long lastSentId;
    private boolean reading;
    private boolean closed;
    private long credentialsIssuedAtMs = io.courier.router.auth.AuthResult.UNKNOWN_ISSUE_TIME;

    /** Reads a page of a device's pending inbox off the I/O thread and hands it back. */
    public interface InboxReader {
        void readPage(Session session, long afterServerId);
    }

    public Session(DeviceId device, Connection connection, int mailboxCapacity, long resumeAfter, long nowMs,
            InboxReader reader, RouterMetrics metrics) {
        this.device = device;
        this.connection = connection;
        this.mailbox = new ManyToOneConcurrentArrayQueue<>(mailboxCapacity);
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

    /** Entries waiting in the mailbox (for the mailbox-depth gauge). */
    public int mailboxDepth() {
        return mailbox.size();
    }

    /**
     * Hands a committed entry to this session. Never blocks, never loses: a full mailbox makes the
     * session re-read its inbox, where the entry already is.
     */
    void offer(StoredMessage message) {
        if (!mailbox.offer(message)) {
            resync = true;
            metrics.mailboxFull();
        }
        schedule();
    }

    /** Makes sure a drain runs soon on the I/O thread; at most one is queued at a time. */
    public void schedule() {
        if (scheduled.compareAndSet(false, true)) {
            connection.executor().execute(this);
        }
    }

    @Override
    public void run() {
        scheduled.set(false);
        drain();
    }

    /** I/O thread only. */
    private void drain() {
        if (closed || reading || !connection.isWritable()) {
            // Not writable: onWritabilityChanged schedules us again. Reading: onPage does.
            return;
        }
        if (resync) {
            resync = false;
            reading = true;
            reader.readPage(this, lastSentId);
            return;
        }
        int written = 0;
        StoredMessage message;
        while (written < DRAIN_LIMIT && (message = mailbox.poll()) != null) {
            if (resync) {
                // An offer failed, so entries after it may be missing from the mailbox: what we
                // polled may come after a gap. Drop it (it is in the inbox) and re-read the inbox.
                break;
            }
            written += writeIfNew(message);
        }
        flush(written);
        if (resync || !mailbox.isEmpty()) {
            schedule();
        }
    }

    /**
     * A page read from storage after {@code afterServerId}; called on the I/O thread.
     *
     * @param full true when the page was full, so more may follow.
     */
    public void onPageArrived(List<StoredMessage> page, boolean full) {
        reading = false;
        if (closed) {
            return;
        }
        int written = 0;
        for (StoredMessage message : page) {
            written += writeIfNew(message);
        }
        flush(written);
        if (full) {
            resync = true;
        }
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
        mailbox.clear();
    }

    @Override
    public String toString() {
        return "Session[" + device + " on " + connection.transport() + " #" + connection.id() + "]";
    }
}
