package io.courier.transport.longpoll.internal;

import io.courier.transport.Connection;
import io.courier.transport.ConnectionGate;
import io.courier.transport.ConnectionHandler;
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

/**
 * One long-polling session: the router's {@link Connection}. Frames for the client wait in an
 * outbox, numbered; a poll takes those after its cursor and the cursor acknowledges the rest, so a
 * lost response is simply sent again. All state lives on the session's Vert.x context, which is
 * also its {@link #executor()}.
 */
final class LongPollSession implements Connection, ConnectionGate.Evictable {

    private static final AtomicLong IDS = new AtomicLong();
    /** Above this many unacknowledged frames the session reports itself unwritable. */
    private static final int HIGH_WATER = 4096;
    private static final int LOW_WATER = 1024;
    /** At most this many frames per poll response. */
    private static final int MAX_PER_POLL = 1024;

    record Entry(long seq, Frame frame) {
    }

    private final long id = IDS.incrementAndGet();
    final String key;
    final boolean json;
    private final Context context;
    private final Vertx vertx;
    private final ConnectionHandler handler;
    private final SocketAddress remote;
    private final long pollTimeoutMs;
    private final int maxFrameBytes;
    private final Runnable onFinished;
    private final ArrayDeque<Entry> outbox = new ArrayDeque<>();
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

    LongPollSession(String key, boolean json, Context context, Vertx vertx, ConnectionHandler handler,
                    SocketAddress remote, long pollTimeoutMs, int maxFrameBytes, Runnable onFinished) {
        this.key = key;
        this.json = json;
        this.context = context;
        this.vertx = vertx;
        this.handler = handler;
        this.remote = remote;
        this.pollTimeoutMs = pollTimeoutMs;
        this.maxFrameBytes = maxFrameBytes;
        this.onFinished = onFinished;
        this.lastPollEndMs = System.currentTimeMillis();
        this.executor = task -> context.runOnContext(v -> task.run());
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
        heldPollTimer = vertx.setTimer(pollTimeoutMs, t -> {
            heldPollTimer = -1;
            answerHeld();
        });
        ctx.request().connection().closeHandler(v -> {
            if (heldPoll == ctx) {
                cancelTimer();
                heldPoll = null;
                lastPollEndMs = System.currentTimeMillis();
            }
        });
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
        while (!outbox.isEmpty() && outbox.peekFirst().seq() <= cursor) {
            outbox.pollFirst();
        }
        if (!writable && outbox.size() <= LOW_WATER) {
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
        outbox.addLast(new Entry(nextSeq++, frame));
        if (writable && outbox.size() >= HIGH_WATER) {
            writable = false;
            handler.onWritabilityChanged(this);
        }
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
        context.runOnContext(v -> {
            if (!closing) {
                write(Frame.newBuilder().setError(error.toBuilder().setFatal(true)).build());
                closing = true;
                closingFlag = true;
                answerHeld();
            }
        });
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
