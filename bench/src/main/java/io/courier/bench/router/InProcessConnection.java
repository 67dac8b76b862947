package io.courier.bench.router;

import io.courier.router.Router;
import io.courier.transport.Connection;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * An in-process connection with its own thread, as a transport's I/O thread would be: what the
 * router-only benchmarks use, so their numbers hold router and storage without the network.
 */
final class InProcessConnection implements Connection {

    private final long id;
    private final Router router;
    private final java.util.function.Consumer<Frame> sink;
    private final ExecutorService thread;
    private Object attachment;

    InProcessConnection(long id, Router router, java.util.function.Consumer<Frame> sink) {
        this.id = id;
        this.router = router;
        this.sink = sink;
        this.thread = Executors.newSingleThreadExecutor();
        thread.execute(() -> router.onOpen(this));
    }

    void hello(String user) throws Exception {
        // Handled in order on this thread: once a later no-op has run, the hello has too.
        thread.execute(() -> router.onFrame(this, Frame.newBuilder().setHello(Hello.newBuilder().setUser(user)).build()));
        thread.submit(() -> { }).get(10, TimeUnit.SECONDS);
    }

    void receive(Frame frame) {
        thread.execute(() -> router.onFrame(this, frame));
    }

    void shutdown() throws InterruptedException {
        thread.execute(() -> router.onClose(this));
        thread.shutdown();
        thread.awaitTermination(10, TimeUnit.SECONDS);
    }

    @Override
    public long id() {
        return id;
    }

    @Override
    public String transport() {
        return "probe";
    }

    @Override
    public SocketAddress remoteAddress() {
        return new InetSocketAddress("127.0.0.1", 0);
    }

    @Override
    public void send(Frame frame) {
        sink.accept(frame);
    }

    @Override
    public void write(Frame frame) {
        sink.accept(frame);
    }

    @Override
    public void flush() {
    }

    @Override
    public boolean isWritable() {
        return true;
    }

    @Override
    public boolean isOpen() {
        return true;
    }

    @Override
    public void close() {
    }

    @Override
    public void closeWithError(Error error) {
        sink.accept(Frame.newBuilder().setError(error).build());
    }

    @Override
    public java.util.concurrent.Executor executor() {
        return thread;
    }

    @Override
    public boolean inExecutor() {
        return false;
    }

    @Override
    public Object attachment() {
        return attachment;
    }

    @Override
    public void attach(Object attachment) {
        this.attachment = attachment;
    }
}
