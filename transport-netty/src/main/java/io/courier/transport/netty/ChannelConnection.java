package io.courier.transport.netty;

import io.courier.transport.Connection;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import java.net.SocketAddress;
import io.netty.channel.socket.SocketChannel;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A server-side connection over a Netty {@link Channel}: frames are written as {@link Frame}
 * objects, and the transport's pipeline encodes them (length-prefixed bytes, WebSocket messages).
 * It is its own {@link #executor()}, so an idle connection holds no executor object besides.
 */
public class ChannelConnection implements Connection, Executor {

    private static final AtomicLong IDS = new AtomicLong();
    private static final AtomicIntegerFieldUpdater<ChannelConnection> CLOSING =
        AtomicIntegerFieldUpdater.newUpdater(ChannelConnection.class, "closing");
    private static final long LINGER_SECONDS = 2;
    /**
     * The latest a connection closes after {@link #closeWithError}: a peer that reads nothing never
     * lets the error be written, and must not hold the connection (and what waits on it) for ever.
     */
    static final long CLOSE_DEADLINE_SECONDS = 5;

    private final long id = IDS.incrementAndGet();
    private final Channel channel;
    private final String transport;
    private final int maxFrameBytes;
    // 1 once close or closeWithError began. A field, not an AtomicBoolean: one object fewer per connection.
    private volatile int closing;
    private Object attachment;

    /**
     * @param channel       the connection's channel.
     * @param transport     the transport's name.
     * @param maxFrameBytes the largest frame the pipeline accepts, announced in {@code Welcome}.
     */
    /** Netty's auto-read: off, the event loop stops asking the socket for more. Thread-safe in Netty. */
    @Override
    public void setReading(boolean reading) {
        channel.config().setAutoRead(reading);
    }

    public ChannelConnection(Channel channel, String transport, int maxFrameBytes) {
        this.channel = channel;
        this.transport = transport;
        this.maxFrameBytes = maxFrameBytes;
    }

    /**
     * Runs {@code task} on the channel's event loop. A task that throws (an Error above all) is
     * this connection's failure: the bridge closes it, rather than the event loop logging it and
     * serving a connection whose work was lost.
     */
    @Override
    public final void execute(Runnable task) {
        channel.eventLoop().execute(() -> {
            try {
                task.run();
            } catch (Throwable failure) {
                channel.pipeline().fireExceptionCaught(failure);
            }
        });
    }

    /** The channel, for subclasses. */
    protected final Channel channel() {
        return channel;
    }

    @Override
    public long id() {
        return id;
    }

    @Override
    public String transport() {
        return transport;
    }

    @Override
    public int maxFrameBytes() {
        return maxFrameBytes;
    }

    @Override
    public SocketAddress remoteAddress() {
        return channel.remoteAddress();
    }

    @Override
    public void send(Frame frame) {
        if (closing == 0) {
            channel.writeAndFlush(frame, channel.voidPromise());
        }
    }

    @Override
    public void write(Frame frame) {
        if (closing == 0) {
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
        return channel.isActive() && closing == 0;
    }

    @Override
    public void close() {
        if (CLOSING.compareAndSet(this, 0, 1)) {
            // Through the event loop, so frames already written are flushed first.
            channel.eventLoop().execute(() -> channel.flush().close());
        }
    }

    /**
     * Sends the error, then closes the way {@link #closeAfterError()} says, and in any case within
     * {@link #CLOSE_DEADLINE_SECONDS}: a peer that does not read may never get the error.
     */
    @Override
    public void closeWithError(Error error) {
        if (CLOSING.compareAndSet(this, 0, 1)) {
            Frame frame = Frame.newBuilder().setError(error.toBuilder().setFatal(true)).build();
            ScheduledFuture<?> deadline = channel.eventLoop().schedule(() -> channel.close(), CLOSE_DEADLINE_SECONDS,
                TimeUnit.SECONDS);
            channel.closeFuture().addListener(closed -> deadline.cancel(false));
            channel.writeAndFlush(frame).addListener((ChannelFutureListener) written -> {
                if (written.isSuccess()) {
                    closeAfterError();
                } else {
                    channel.close();
                }
            });
        }
    }

    /**
     * After a fatal error was written: half-close, then close once the peer does or
     * {@link #LINGER_SECONDS} pass. Closing at once with unread input would make the kernel send a
     * reset, which can destroy the error before the peer reads it. Transports with a closing
     * handshake of their own (WebSocket) override this.
     */
    protected void closeAfterError() {
        if (!(channel instanceof SocketChannel socket)) {
            channel.close();
            return;
        }
        socket.shutdownOutput().addListener(ignored ->
            channel.eventLoop().schedule(() -> channel.close(), LINGER_SECONDS, TimeUnit.SECONDS));
    }

    /** Tells the channel's admission, if the server admits through a gate. */
    @Override
    public void markAuthenticated() {
        ChannelAdmission.authenticated(channel);
    }

    /** True once {@link #close} or {@link #closeWithError} was called: input is dropped from then. */
    public boolean isClosing() {
        return closing != 0;
    }

    /** Bytes written to this connection and not yet taken by the kernel: what {@link UnreadOutputLimit} bounds. */
    public long unreadOutputBytes() {
        return UnreadOutputLimit.pendingBytes(channel);
    }

    /** The channel's event loop; a task that throws closes this connection (see {@link ConnectionBridge}). */
    @Override
    public Executor executor() {
        return this;
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
        return transport + "#" + id + " " + channel.remoteAddress();
    }
}
