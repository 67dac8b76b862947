package io.courier.transport.udp.internal;

import com.google.protobuf.InvalidProtocolBufferException;
import io.courier.transport.Connection;
import io.courier.transport.ConnectionGate;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.Frames;
import io.courier.transport.IoThreadErrors;
import io.courier.transport.TransportOptions;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client of the UDP server: a reliable stream, driven by the server channel's event loop. DATA
 * is acknowledged once per read burst ({@link ReadBurst}), and what handlers write while a burst is
 * read is flushed once at its end.
 */
final class UdpServerConnection implements Connection, ReliableStream.Sink, ConnectionGate.Evictable {

    /** Datagrams waiting (unacknowledged or queued) above which the connection reports itself unwritable. */
    static final int HIGH_WATER = 1_024;
    /** {@link #HIGH_WATER} in bytes of DATA bodies, at most: the least {@code max-unread-output-bytes} builds on. */
    static final long HIGH_WATER_BYTES = (long) HIGH_WATER * (8 + ReliableStream.FRAGMENT_BYTES);
    private static final Logger LOG = LoggerFactory.getLogger(UdpServerConnection.class);
    private static final long LINGER_NANOS = 2_000_000_000L;

    private final long id;
    private final InetSocketAddress remote;
    private final Channel channel;
    private final ConnectionHandler handler;
    private final ReliableStream stream;
    private final long idleTimeoutNanos;
    private final Runnable onFinished;
    private final ReadBurst burst;
    private final int maxFrameBytes;
    private final long maxUnreadOutputBytes;
    private final Executor executor;
    private long lastHeardNanos;
    private long lingerDeadline;
    private volatile boolean closing;
    private boolean finished;
    private Consumer<UdpServerConnection> onBusy = connection -> { };
    private boolean writable = true;
    private boolean ackListed;
    private boolean errorReported;
    private Object attachment;
    private volatile ConnectionGate.Admission admission;

    UdpServerConnection(long id, InetSocketAddress remote, Channel channel, ConnectionHandler handler, int window,
                        int maxFrameBytes, long minRtoNanos, long idleTimeoutNanos, ReadBurst burst, Runnable onFinished) {
        this(id, remote, channel, handler, window, maxFrameBytes, minRtoNanos, idleTimeoutNanos, burst, onFinished,
            Long.parseLong(TransportOptions.MAX_UNREAD_OUTPUT_BYTES.defaultValue()));
    }

    /** @param maxUnreadOutputBytes what may wait unacknowledged or queued before the client is a slow consumer. */
    UdpServerConnection(long id, InetSocketAddress remote, Channel channel, ConnectionHandler handler, int window,
                        int maxFrameBytes, long minRtoNanos, long idleTimeoutNanos, ReadBurst burst, Runnable onFinished,
                        long maxUnreadOutputBytes) {
        this.id = id;
        this.remote = remote;
        this.channel = channel;
        this.handler = handler;
        this.stream = new ReliableStream(this, window, maxFrameBytes, minRtoNanos, 5_000_000_000L);
        this.idleTimeoutNanos = idleTimeoutNanos;
        this.onFinished = onFinished;
        this.burst = burst;
        this.maxFrameBytes = maxFrameBytes;
        this.maxUnreadOutputBytes = maxUnreadOutputBytes;
        this.lastHeardNanos = System.nanoTime();
        // A task that throws is this connection's failure, not the event loop's: see failed().
        this.executor = task -> channel.eventLoop().execute(() -> {
            try {
                task.run();
            } catch (Throwable failure) {
                failed(failure);
            }
        });
    }

    @Override
    public int maxFrameBytes() {
        return maxFrameBytes;
    }

    InetSocketAddress remote() {
        return remote;
    }

    /**
     * A datagram for this connection, its header already read, within {@code burst}: the ACK owed
     * for DATA and the flush of what this wrote come at the burst's end. Event loop only.
     */
    void onDatagram(byte type, ByteBuf content, long now) {
        lastHeardNanos = now;
        switch (type) {
            case Wire.DATA -> {
                stream.onData(copy(content));
                if (!ackListed && stream.ackOwed()) {
                    ackListed = true;
                    burst.oweAck(this);
                }
            }
            case Wire.ACK -> {
                stream.onAck(copy(content), now);
                updateWritability();
            }
            // Within the read burst: its end flushes the answer with the burst's ACKs.
            case Wire.PING -> channel.write(Datagrams.header(channel, Wire.PING, id, 0, remote));
            case Wire.CLOSE -> finish(false);
            default -> {
                // Handshake types after the handshake are ignored: retransmissions of what we answered.
            }
        }
    }

    /** The read burst is over: one ACK for the DATA received in it, unless the connection is gone. */
    void flushAck() {
        ackListed = false;
        if (!finished) {
            stream.flushAck();
        }
    }

    /** Retransmissions, closing and idleness; the server flushes after ticking every connection. Event loop only. */
    void tick(long now) {
        if (finished) {
            return;
        }
        stream.tick(now);
        if (closing && (stream.backlog() == 0 || now > lingerDeadline)) {
            finish(true);
        } else if (now - lastHeardNanos > idleTimeoutNanos) {
            handler.onTransportError(this, Error.Code.IDLE_TIMEOUT, "No datagram from " + remote + " for "
                + idleTimeoutNanos / 1_000_000 + " ms");
            finish(true);
        }
    }

    private void finish(boolean sendClose) {
        if (finished) {
            return;
        }
        finished = true;
        closing = true;
        if (sendClose) {
            channel.writeAndFlush(Datagrams.header(channel, Wire.CLOSE, id, 0, remote));
        }
        onFinished.run();
        handler.onClose(this);
    }

    /** The server is stopping: tell the client, then forget it. */
    void shutdown() {
        finish(true);
    }

    /**
     * Serving this connection threw: it is closed (CLOSE sent, forgotten). An Error is reported once
     * and, when not recoverable, escalated ({@link IoThreadErrors}); an exception is logged.
     * Event loop only.
     */
    void failed(Throwable failure) {
        if (failure instanceof java.lang.Error error) {
            if (!errorReported) {
                errorReported = true;
                handler.onIoThreadError(transport(), remote, this, error);
            }
            finish(true);
            IoThreadErrors.escalate(error);
        } else {
            LOG.warn("Unexpected failure on connection {}; closing it", this, failure);
            finish(true);
        }
    }

    /** What waits to be acknowledged by the client, in bytes (for metrics; read from any thread). */
    long unreadOutputBytes() {
        return finished ? 0 : stream.backlogBytes();
    }

    private static ByteBuffer copy(ByteBuf content) {
        byte[] bytes = new byte[content.readableBytes()];
        content.readBytes(bytes);
        return ByteBuffer.wrap(bytes);
    }

    private void updateWritability() {
        boolean now = stream.backlog() < HIGH_WATER;
        if (now != writable) {
            writable = now;
            handler.onWritabilityChanged(this);
        }
    }

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

    /** The gate makes room: the error goes out on the reliable stream, then CLOSE, as for any fatal error. */
    @Override
    public void evict(Error reason) {
        closeWithError(reason);
    }

    /** The gate needs the place now: CLOSE and forget the connection without waiting for acks. */
    @Override
    public void abort() {
        channel.eventLoop().execute(() -> finish(true));
    }

    // ---------------------------------------------------------------- ReliableStream.Sink

    @Override
    public void sendData(ByteBuffer body) {
        channel.write(Datagrams.withBody(channel, Wire.DATA, id, body, remote));
    }

    @Override
    public void sendAck(ByteBuffer body) {
        channel.write(Datagrams.withBody(channel, Wire.ACK, id, body, remote));
    }

    @Override
    public void message(byte[] bytes) {
        if (closing) {
            return;
        }
        Frame frame;
        try {
            frame = Frame.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            violation(Error.Code.MALFORMED_FRAME, "Bytes are not a Frame: " + e.getMessage());
            return;
        }
        handler.onFrame(this, frame);
    }

    @Override
    public void violation(boolean tooLarge, String detail) {
        violation(tooLarge ? Error.Code.FRAME_TOO_LARGE : Error.Code.MALFORMED_FRAME, detail);
    }

    private void violation(Error.Code code, String detail) {
        handler.onTransportError(this, code, detail);
        closeWithError(Frames.errorBody(code, detail, true));
    }

    // ---------------------------------------------------------------- Connection

    @Override
    public long id() {
        return id;
    }

    @Override
    public String transport() {
        return "udp";
    }

    @Override
    public SocketAddress remoteAddress() {
        return remote;
    }

    /**
     * Tells {@code hook} whenever this connection may have work for its tick — DATA in flight, or
     * closing — so the server ticks it often then and only checks it for idleness otherwise.
     * Event loop only.
     */
    void onBusy(Consumer<UdpServerConnection> hook) {
        this.onBusy = hook;
    }

    /** True while a tick may have work: DATA sent and not acknowledged or waiting, or closing. */
    boolean busy() {
        return !finished && (closing || stream.backlog() > 0);
    }

    @Override
    public void write(Frame frame) {
        if (!closing) {
            stream.send(frame.toByteArray(), System.nanoTime());
            onBusy.accept(this);
            if (stream.backlogBytes() > maxUnreadOutputBytes) {
                slowConsumer();
                return;
            }
            updateWritability();
        }
    }

    /**
     * More than the limit waits for a client that does not acknowledge: the messages not sent at
     * all are dropped (whatever was acknowledged stays acknowledged; the router's inbox keeps the
     * rest), and the error goes out right behind what is in flight, then CLOSE.
     */
    private void slowConsumer() {
        Error error = Frames.slowConsumer(transport(), stream.backlogBytes(), maxUnreadOutputBytes);
        handler.onTransportError(this, Error.Code.SLOW_CONSUMER, error.getText());
        stream.discardUnsent();
        sendErrorAndLinger(error);
    }

    @Override
    public void flush() {
        // Within a read burst (a handler answering a frame) the burst's end flushes, once for all;
        // otherwise the end of this event-loop turn does, once for every connection written to.
        burst.flushSoon(channel);
    }

    @Override
    public boolean isWritable() {
        return writable;
    }

    @Override
    public boolean isOpen() {
        return !closing;
    }

    @Override
    public void close() {
        channel.eventLoop().execute(() -> {
            if (!closing) {
                closing = true;
                lingerDeadline = System.nanoTime() + LINGER_NANOS;
                onBusy.accept(this);
            }
        });
    }

    @Override
    public void closeWithError(Error error) {
        if (channel.eventLoop().inEventLoop()) {
            sendErrorAndLinger(error);
        } else {
            channel.eventLoop().execute(() -> sendErrorAndLinger(error));
        }
    }

    private void sendErrorAndLinger(Error error) {
        if (!closing) {
            stream.send(Frame.newBuilder().setError(error.toBuilder().setFatal(true)).build().toByteArray(),
                System.nanoTime());
            channel.flush();
            closing = true;
            lingerDeadline = System.nanoTime() + LINGER_NANOS;
            onBusy.accept(this);
        }
    }

    /** The server channel's event loop; a task that throws closes this connection ({@link #failed}). */
    @Override
    public Executor executor() {
        return executor;
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
        return "udp#" + id + " " + remote;
    }
}
