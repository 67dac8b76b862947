package io.courier.router;

import io.courier.transport.Connection;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An in-process connection with its own I/O thread whose writability the test controls, so that
 * back-pressure can be driven deterministically. Frames the router writes are recorded.
 */
final class RecordingConnection implements Connection {

    private static final AtomicLong IDS = new AtomicLong();

    private final long id = IDS.incrementAndGet();
    private final ExecutorService thread;
    private final ConnectionHandler handler;
    private final AtomicBoolean open = new AtomicBoolean(true);
    private volatile boolean writable = true;
    private volatile int highWaterDelivers;
    private int deliversSinceWritable;
    private volatile Thread ioThread;
    private Object attachment;
    final List<Frame> written = new CopyOnWriteArrayList<>();

    RecordingConnection(ConnectionHandler handler) {
        this.handler = handler;
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "test-io-" + id);
            ioThread = t;
            return t;
        });
        thread.execute(() -> handler.onOpen(this));
    }

    /** Delivers a frame from the "client" on the I/O thread, as a transport would. */
    void receive(Frame frame) {
        thread.execute(() -> handler.onFrame(this, frame));
    }

    /** Returns once every callback submitted so far has run on the I/O thread. */
    void sync() throws Exception {
        thread.submit(() -> { }).get(10, TimeUnit.SECONDS);
    }

    void setWritable(boolean value) {
        thread.execute(() -> {
            writable = value;
            deliversSinceWritable = 0;
            handler.onWritabilityChanged(this);
        });
    }

    /**
     * From now on the connection turns unwritable once {@code delivers} Deliver frames were written
     * since it was last made writable: at once, during the write, with the callback, as a Netty
     * channel past its high-water mark does.
     */
    void highWaterEvery(int delivers) {
        highWaterDelivers = delivers;
    }

    @Override
    public long id() {
        return id;
    }

    @Override
    public String transport() {
        return "test";
    }

    @Override
    public SocketAddress remoteAddress() {
        return new InetSocketAddress("127.0.0.1", 1);
    }

    @Override
    public void send(Frame frame) {
        if (open.get()) {
            written.add(frame);
        }
    }

    @Override
    public void write(Frame frame) {
        send(frame);
        if (frame.hasDeliver() && highWaterDelivers > 0 && ++deliversSinceWritable >= highWaterDelivers && writable) {
            writable = false;
            handler.onWritabilityChanged(this);
        }
    }

    @Override
    public void flush() {
    }

    @Override
    public boolean isWritable() {
        return writable;
    }

    private volatile boolean reading = true;

    /** Whether the router wants this connection read (its back-pressure). */
    boolean reading() {
        return reading;
    }

    @Override
    public void setReading(boolean reading) {
        this.reading = reading;
    }

    @Override
    public boolean isOpen() {
        return open.get();
    }

    @Override
    public void close() {
        if (open.compareAndSet(true, false)) {
            thread.execute(() -> handler.onClose(this));
        }
    }

    @Override
    public void closeWithError(Error error) {
        send(Frame.newBuilder().setError(error).build());
        close();
    }

    @Override
    public java.util.concurrent.Executor executor() {
        return thread;
    }

    @Override
    public boolean inExecutor() {
        return Thread.currentThread() == ioThread;
    }

    @Override
    public Object attachment() {
        return attachment;
    }

    @Override
    public void attach(Object attachment) {
        this.attachment = attachment;
    }

    void shutdown() throws InterruptedException {
        close();
        thread.shutdown();
        thread.awaitTermination(10, TimeUnit.SECONDS);
    }
}
