package io.courier.transport.longpoll.internal;

import io.courier.transport.Connection;
import io.courier.transport.ConnectionGate;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.Frames;
import io.courier.transport.IoThreadErrors;
import io.courier.transport.longpoll.LongPollTransportProvider;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One long-polling session: the router's {@link Connection}. Frames for the client wait in an
 * outbox, numbered; a poll takes those after its cursor and the cursor acknowledges the rest, so a
 * lost response is simply sent again. All state lives on the session's Vert.x context, which is
 * also its {@link #executor()}.
 */
final class LongPollSession implements Connection, ConnectionGate.Evictable {

    private static final Logger LOG = LoggerFactory.getLogger(LongPollSession.class);
    private static final AtomicLong IDS = new AtomicLong();
    /** Above this many unacknowledged frames, or bytes of them, the session reports itself unwritable. */
    private static final int HIGH_WATER = 4096;
    static final int HIGH_WATER_BYTES = 256 * 1024;
    /** At or below this many frames and bytes it is writable again. */
    private static final int LOW_WATER = 1024;
    private static final int LOW_WATER_BYTES = 64 * 1024;
    /** At most this many frames per poll response. */
    private static final int MAX_PER_POLL = 1024;

    record Entry(long seq, Frame frame, int bytes) {
    }

    private final long id = IDS.incrementAndGet();
    final String key;
    /** UTF-8 of the secret a request must carry in {@code X-Courier-Session-Secret}. */
    final byte[] secret;
    final boolean json;
    private final Context context;
    private final Vertx vertx;
    private final ConnectionHandler handler;
    private final SocketAddress remote;
    private final long pollTimeoutMs;
    private final int maxFrameBytes;
    private final Runnable onFinished;
    private final long maxUnreadOutputBytes;
    private final ArrayDeque<Entry> outbox = new ArrayDeque<>();
    /** Bytes of the frames in {@link #outbox}; written on the context, read by metrics from anywhere. */
    private volatile long outboxBytes;
    private boolean errorReported;
    private long nextSeq = 1;
    private RoutingContext heldPoll;
    private long heldPollCursor;
    private long heldPollTimer = -1;
    long lastPollEndMs;
    private boolean closing;
    private volatile boolean closingFlag;
    private boolean finished;
    private boolean writable = true;
    private Object attachment;
    private volatile ConnectionGate.Admission admission;
    private final Executor executor;

    LongPollSession(String key, String secret, boolean json, Context context, Vertx vertx, ConnectionHandler handler,
                    SocketAddress remote, long pollTimeoutMs, int maxFrameBytes, long maxUnreadOutputBytes,
                    Runnable onFinished) {
        this.key = key;
        this.secret = secret.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        this.json = json;
        this.context = context;
        this.vertx = vertx;
        this.handler = handler;
        this.remote = remote;
        this.pollTimeoutMs = pollTimeoutMs;
        this.maxFrameBytes = maxFrameBytes;
        this.onFinished = onFinished;
        this.maxUnreadOutputBytes = maxUnreadOutputBytes;
        this.lastPollEndMs = System.currentTimeMillis();
        this.executor = task -> context.runOnContext(v -> guarded(task));
    }

    /** Runs {@code task} on the context as this session's work: if it throws, the session ends ({@link #failed}). */
    void guarded(Runnable task) {
        try {
            task.run();
        } catch (Throwable failure) {
            failed(failure);
        }
    }

    /**
     * Serving this session threw: it ends. An Error is reported once and, when not recoverable,
     * escalated ({@link IoThreadErrors}); an exception is logged. Context thread only.
     */
    void failed(Throwable failure) {
        if (failure instanceof java.lang.Error error) {
            if (!errorReported) {
                errorReported = true;
                handler.onIoThreadError(transport(), remote, this, error);
            }
            finish();
            IoThreadErrors.escalate(error);
        } else {
            LOG.warn("Unexpected failure on connection {}; closing it", this, failure);
            finish();
        }
    }

    /** Bytes of the frames no poll has acknowledged yet: what {@code max-unread-output-bytes} bounds. */
    long unreadOutputBytes() {
        return outboxBytes;
    }

    // ---------------------------------------------------------------- HTTP side (context thread)

    /** A poll arrived with {@code cursor}; answer now if there is something, else hold it. */
    void poll(RoutingContext ctx, long cursor) {
        // A poll is the client's sign of life: it needs no Heartbeat frames while it keeps polling.
        handler.onActivity(this);
        if (cursor >= nextSeq) {
            LongPollServer.error(ctx, 400, Error.Code.INVALID_ARGUMENT, "Cursor " + cursor
                + " is from the future: the last frame sent is " + (nextSeq - 1), json);
            return;
        }
        acknowledge(cursor);
        if (heldPoll != null) {
            // Two polls for one session: the older one is answered, not leaked.
            answerHeld();
        }
        if (!outbox.isEmpty() || closing) {
            answer(ctx, cursor);
            return;
        }
        heldPoll = ctx;
        heldPollCursor = cursor;
        heldPollTimer = vertx.setTimer(pollTimeoutMs, t -> guarded(() -> {
            heldPollTimer = -1;
            answerHeld();
        }));
        // The response's close handler, not the connection's: that one belongs to the server's deadlines.
        ctx.response().closeHandler(v -> guarded(() -> {
            if (heldPoll == ctx) {
                cancelTimer();
                heldPoll = null;
                lastPollEndMs = System.currentTimeMillis();
            }
        }));
    }

    /** Frames POSTed by the client, decoded; handed to the router in order. */
    void received(List<Frame> frames) {
        for (Frame frame : frames) {
            if (closing) {
                return;
            }
            handler.onFrame(this, frame);
        }
    }

    /** The client said goodbye (DELETE) or went silent past the session timeout. */
    void finish() {
        if (finished) {
            return;
        }
        finished = true;
        closing = true;
        closingFlag = true;
        cancelTimer();
        if (heldPoll != null) {
            RoutingContext ctx = heldPoll;
            heldPoll = null;
            gone(ctx);
        }
        outbox.clear();
        outboxBytes = 0;
        onFinished.run();
        handler.onClose(this);
    }

    boolean isFinished() {
        return finished;
    }

    boolean isIdleSince(long cutoffMs) {
        return heldPoll == null && lastPollEndMs < cutoffMs;
    }

    private void acknowledge(long cursor) {
        long bytes = outboxBytes;
        while (!outbox.isEmpty() && outbox.peekFirst().seq() <= cursor) {
            bytes -= outbox.pollFirst().bytes();
        }
        outboxBytes = bytes;
        if (!writable && outbox.size() <= LOW_WATER && bytes <= LOW_WATER_BYTES) {
            writable = true;
            handler.onWritabilityChanged(this);
        }
    }

    private void answerHeld() {
        if (heldPoll != null) {
            RoutingContext ctx = heldPoll;
            heldPoll = null;
            cancelTimer();
            answer(ctx, heldPollCursor);
        }
    }

    private void answer(RoutingContext ctx, long cursor) {
        lastPollEndMs = System.currentTimeMillis();
        // The hold just ended: the idle clock restarts here, so a hold may last up to the idle limit.
        handler.onActivity(this);
        if (closing && outbox.isEmpty()) {
            gone(ctx);
            finish();
            return;
        }
        List<Frame> frames = new ArrayList<>(Math.min(outbox.size(), MAX_PER_POLL));
        long last = cursor;
        for (Entry entry : outbox) {
            if (frames.size() == MAX_PER_POLL) {
                break;
            }
            frames.add(entry.frame());
            last = entry.seq();
        }
        ctx.response()
            .putHeader("Content-Type", json ? "application/json" : LongPollTransportProvider.PROTO)
            .putHeader("X-Courier-Cursor", Long.toString(last))
            .putHeader("Cache-Control", "no-store")
            .end(Buffer.buffer(Bodies.encode(frames, json)));
    }

    private static void gone(RoutingContext ctx) {
        ctx.response().setStatusCode(410).putHeader("Cache-Control", "no-store").end();
    }

    private void cancelTimer() {
        if (heldPollTimer >= 0) {
            vertx.cancelTimer(heldPollTimer);
            heldPollTimer = -1;
        }
    }

    // ---------------------------------------------------------------- admission

    /** Its place in the server's admission gate. */
    void admitted(ConnectionGate.Admission admission) {
        this.admission = admission;
    }

    @Override
    public void markAuthenticated() {
        ConnectionGate.Admission place = admission;
        if (place != null) {
            place.authenticated();
        }
    }

    /** The gate makes room: the error is the next poll's answer, then the session ends, as for any fatal error. */
    @Override
    public void evict(Error reason) {
        closeWithError(reason);
    }

    /** The gate needs the place now: the session ends without waiting for a poll to collect the error. */
    @Override
    public void abort() {
        context.runOnContext(v -> finish());
    }

    // ---------------------------------------------------------------- Connection (router side)

    @Override
    public long id() {
        return id;
    }

    @Override
    public String transport() {
        return "longpoll";
    }

    @Override
    public SocketAddress remoteAddress() {
        return remote;
    }

    @Override
    public int maxFrameBytes() {
        return maxFrameBytes;
    }

    @Override
    public void write(Frame frame) {
        if (closing) {
            return;
        }
        enqueue(frame);
        if (outboxBytes > maxUnreadOutputBytes) {
            slowConsumer(Frames.slowConsumer(transport(), outboxBytes, maxUnreadOutputBytes));
            return;
        }
        if (writable && (outbox.size() >= HIGH_WATER || outboxBytes >= HIGH_WATER_BYTES)) {
            writable = false;
            handler.onWritabilityChanged(this);
        }
    }

    private void enqueue(Frame frame) {
        int bytes = frame.getSerializedSize();
        outbox.addLast(new Entry(nextSeq++, frame, bytes));
        outboxBytes += bytes;
    }

    /**
     * The client does not collect what it is sent (it stopped polling, or polls without moving its
     * cursor): what waits for it is dropped — nothing in it was
     * acknowledged, and the router's inbox keeps the messages — and the fatal error takes its place,
     * so the next poll gets it, and the one after that 410. Context thread only.
     */
    private void slowConsumer(Error error) {
        if (closing) {
            return;
        }
        handler.onTransportError(this, Error.Code.SLOW_CONSUMER, error.getText());
        outbox.clear();
        outboxBytes = 0;
        enqueue(Frame.newBuilder().setError(error.toBuilder().setFatal(true)).build());
        closing = true;
        closingFlag = true;
        answerHeld();
    }

    @Override
    public void flush() {
        if (!outbox.isEmpty()) {
            answerHeld();
        }
    }

    @Override
    public boolean isWritable() {
        return writable;
    }

    @Override
    public boolean isOpen() {
        return !closingFlag;
    }

    /** Frames already queued are still delivered; then the next poll gets 410 Gone. */
    @Override
    public void close() {
        context.runOnContext(v -> {
            if (!closing) {
                closing = true;
                closingFlag = true;
                answerHeld();
            }
        });
    }

    @Override
    public void closeWithError(Error error) {
        context.runOnContext(v -> guarded(() -> {
            if (!closing) {
                // Past the limit checks: the error always goes in, behind what waits.
                enqueue(Frame.newBuilder().setError(error.toBuilder().setFatal(true)).build());
                closing = true;
                closingFlag = true;
                answerHeld();
            }
        }));
    }

    @Override
    public Executor executor() {
        return executor;
    }

    @Override
    public boolean inExecutor() {
        return Vertx.currentContext() == context;
    }

    @Override
    public Object attachment() {
        return attachment;
    }

    @Override
    public void attach(Object attachment) {
        this.attachment = attachment;
    }

    @Override
    public String toString() {
        return "longpoll#" + id + " " + remote;
    }
}
