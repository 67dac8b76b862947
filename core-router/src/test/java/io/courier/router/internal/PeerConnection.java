package io.courier.router.internal;

import io.courier.transport.Connection;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;

/**
 * The far end of a command for tests that drive the router's internals on the test thread: its
 * I/O thread is the caller's, and it keeps what it is sent.
 */
final class PeerConnection implements Connection {

    private final String name;
    private volatile boolean open = true;
    final List<Frame> sent = new CopyOnWriteArrayList<>();

    PeerConnection(String name) {
        this.name = name;
    }

    @Override
    public long id() {
        return name.hashCode();
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
    public void write(Frame frame) {
        if (open) {
            sent.add(frame);
        }
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
        return open;
    }

    @Override
    public void close() {
        open = false;
    }

    @Override
    public void closeWithError(Error error) {
        write(Frame.newBuilder().setError(error).build());
        close();
    }

    @Override
    public Executor executor() {
        return Runnable::run;
    }

    @Override
    public boolean inExecutor() {
        return true;
    }

    @Override
    public Object attachment() {
        return null;
    }

    @Override
    public void attach(Object attachment) {
    }

    @Override
    public String toString() {
        return name;
    }
}
