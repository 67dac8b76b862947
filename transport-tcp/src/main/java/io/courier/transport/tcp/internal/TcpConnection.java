package io.courier.transport.tcp.internal;

import io.courier.transport.Connection;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import java.net.SocketAddress;
import io.netty.channel.socket.SocketChannel;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/** A server-side TCP connection: a thin face over a Netty {@link Channel}. */
final class TcpConnection implements Connection {

    private static final AtomicLong IDS = new AtomicLong();
    private static final long LINGER_SECONDS = 2;

    private final long id = IDS.incrementAndGet();
    private final Channel channel;
    private final AtomicBoolean closing = new AtomicBoolean();
    private Object attachment;

    TcpConnection(Channel channel) {
        this.channel = channel;
    }

    @Override
    public long id() {
        return id;
    }

    @Override
    public String transport() {
        return "tcp";
    }

    @Override
    public SocketAddress remoteAddress() {
        return channel.remoteAddress();
    }

    @Override
    public void send(Frame frame) {
        if (!closing.get()) {
            channel.writeAndFlush(frame, channel.voidPromise());
        }
    }

    @Override
    public void write(Frame frame) {
        if (!closing.get()) {
            channel.write(frame, channel.voidPromise());
        }
    }

    @Override
    public void flush() {
        channel.flush();
    }

    @Override
    public boolean isWritable() {
        return channel.isWritable();
    }

    @Override
    public boolean isOpen() {
        return channel.isActive() && !closing.get();
    }

    @Override
    public void close() {
        if (closing.compareAndSet(false, true)) {
            // Through the event loop, so frames already written are flushed first.
            channel.eventLoop().execute(() -> channel.flush().close());
        }
    }

    /**
     * Sends the error, then half-closes: our FIN follows the error, and input is read and dropped
     * until the peer closes or {@link #LINGER_SECONDS} pass. Closing at once with unread input
     * would make the kernel send a reset, which can destroy the error before the peer reads it.
     */
    @Override
    public void closeWithError(Error error) {
        if (closing.compareAndSet(false, true)) {
            Frame frame = Frame.newBuilder().setError(error.toBuilder().setFatal(true)).build();
            channel.writeAndFlush(frame).addListener((ChannelFutureListener) written -> {
                if (!written.isSuccess() || !(channel instanceof SocketChannel socket)) {
                    channel.close();
                    return;
                }
                socket.shutdownOutput().addListener(ignored ->
                    channel.eventLoop().schedule(() -> channel.close(), LINGER_SECONDS, TimeUnit.SECONDS));
            });
        }
    }

    /** True once {@link #close} or {@link #closeWithError} was called: input is dropped from then. */
    boolean isClosing() {
        return closing.get();
    }

    @Override
    public Executor executor() {
        return channel.eventLoop();
    }

    @Override
    public boolean inExecutor() {
        return channel.eventLoop().inEventLoop();
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
        return "tcp#" + id + " " + channel.remoteAddress();
    }
}
