package io.courier.transport.udp.internal;

import io.netty.channel.Channel;
import io.netty.channel.SingleThreadEventLoop;
import java.util.ArrayList;
import java.util.List;

/**
 * One read burst of the server's datagram channel — the datagrams Netty reads in one go (at most
 * its {@code MAX_MESSAGES_PER_READ}) and hands to {@code channelRead} before one
 * {@code channelReadComplete} — and what is owed at its end: an ACK from each connection that
 * received DATA, and one flush for everything written meanwhile.
 *
 * <p>The server has one channel for all its connections, so the list holds each connection that
 * owes an ACK once; it is as long as the number of connections heard from in one burst, and is
 * reused. Event loop only.
 */
final class ReadBurst {

    private final List<UdpServerConnection> owingAck = new ArrayList<>();
    private boolean reading;
    private boolean flushPending;
    private Channel pendingOn;
    private final Runnable flushTask = () -> {
        flushPending = false;
        pendingOn.flush();
    };

    /** A datagram of the burst is about to be handled. */
    void begin() {
        reading = true;
    }

    /** True between the first datagram of a burst and its end: a flush now can wait for {@link #end}. */
    boolean reading() {
        return reading;
    }

    /** {@code connection} received DATA in this burst; list it once (it keeps the flag). */
    void oweAck(UdpServerConnection connection) {
        owingAck.add(connection);
    }

    /**
     * What was written outside a read burst (frames the router hands over from other threads, each
     * a task on the event loop) is flushed once at the end of this turn of the event loop, after
     * all its tasks: with epoll the datagrams of every connection then leave in one
     * {@code sendmmsg}, not one flush and one system call per connection. Within a burst its end
     * flushes. Where the event loop has no end-of-turn hook (an embedded channel in tests), now.
     */
    void flushSoon(Channel channel) {
        if (reading || flushPending) {
            return;
        }
        if (channel.eventLoop() instanceof SingleThreadEventLoop loop) {
            flushPending = true;
            pendingOn = channel;
            loop.executeAfterEventLoopIteration(flushTask);
        } else {
            channel.flush();
        }
    }

    /** The burst is over: every owed ACK goes out, then everything written in the burst. */
    void end(Channel channel) {
        reading = false;
        for (int i = 0; i < owingAck.size(); i++) {
            owingAck.get(i).flushAck();
        }
        owingAck.clear();
        channel.flush();
    }
}
