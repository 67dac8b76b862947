package io.courier.bench.floor;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import io.courier.bench.load.LoadSink;
import io.courier.bench.load.Pair;
import io.courier.bench.load.Payloads;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.concurrent.Agent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The load process's one receiving thread for an Aeron floor: polls the pong subscription and hands
 * each message's scheduled time to its pair's sink, found by the pair index in front of the payload
 * ({@link AeronRoute}). It also finishes opening pairs: a pair is ready once its ping publication
 * and the pong subscription are both connected, so no message is sent into a void.
 *
 * <p>Sinks are looked up in a copy-on-write map: the poll path reads one volatile field and does an
 * unboxed lookup; opening and closing a pair (rare) copy the map.
 */
final class AeronPongPoller implements Agent, FragmentHandler {

    /** How long a pair may take to connect before its opening fails. */
    static final long OPEN_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);

    private static final Logger LOG = LoggerFactory.getLogger(AeronPongPoller.class);
    private static final int FRAGMENT_LIMIT = 64;

    private final Aeron aeron;
    private final Subscription pong;
    private final AeronFloorAddress address;
    private final FragmentAssembler assembler = new FragmentAssembler(this);
    private final Queue<Opening> requested = new ConcurrentLinkedQueue<>();
    private final ArrayList<Opening> opening = new ArrayList<>();
    private volatile Int2ObjectHashMap<LoadSink> sinks = new Int2ObjectHashMap<>();
    private long unrouted;
    private long malformed;

    AeronPongPoller(Aeron aeron, Subscription pong, AeronFloorAddress address) {
        this.aeron = aeron;
        this.pong = pong;
        this.address = address;
    }

    /** Starts opening pair {@code index}; the future completes (off this thread) when it is connected. */
    CompletableFuture<Pair> open(int index, LoadSink sink) {
        Opening pair = new Opening(index, sink,
            aeron.asyncAddExclusivePublication(address.pingChannel(), AeronFloorAddress.PING_STREAM_ID),
            System.nanoTime() + OPEN_TIMEOUT_NANOS);
        requested.add(pair);
        return pair.future;
    }

    @Override
    public int doWork() {
        int work = pong.poll(assembler, FRAGMENT_LIMIT);
        if (!requested.isEmpty() || !opening.isEmpty()) {
            work += advanceOpenings();
        }
        return work;
    }

    @Override
    public void onFragment(DirectBuffer buffer, int offset, int length, Header header) {
        if (length < AeronRoute.PAYLOAD_OFFSET + Payloads.MIN_SIZE) {
            malformed++;
            return;
        }
        LoadSink sink = sinks.get(buffer.getInt(offset + AeronRoute.INDEX_OFFSET, AeronRoute.INDEX_ORDER));
        if (sink == null) {
            // Another load process's pair (IPC pong reaches every subscriber), or one just closed.
            unrouted++;
            return;
        }
        sink.received(buffer.getLong(offset + AeronRoute.PAYLOAD_OFFSET, ByteOrder.BIG_ENDIAN));
    }

    private int advanceOpenings() {
        for (Opening pair; (pair = requested.poll()) != null; ) {
            opening.add(pair);
        }
        int done = 0;
        long now = System.nanoTime();
        for (int i = opening.size() - 1; i >= 0; i--) {
            if (opening.get(i).advance(now)) {
                opening.remove(i);
                done++;
            }
        }
        return done;
    }

    synchronized void register(int index, LoadSink sink) {
        Int2ObjectHashMap<LoadSink> next = new Int2ObjectHashMap<>(sinks);
        next.put(index, sink);
        sinks = next;
    }

    synchronized void unregister(int index, LoadSink sink) {
        if (sinks.get(index) == sink) {
            Int2ObjectHashMap<LoadSink> next = new Int2ObjectHashMap<>(sinks);
            next.remove(index);
            sinks = next;
        }
    }

    @Override
    public void onClose() {
        for (Opening pair : opening) {
            pair.fail("the target closed while it was opening");
        }
        for (Opening pair; (pair = requested.poll()) != null; ) {
            pair.fail("the target closed while it was opening");
        }
        if (unrouted > 0 || malformed > 0) {
            LOG.info("Aeron floor {}: {} messages for pairs not open here, {} too short for a route and timestamp",
                address, unrouted, malformed);
        }
    }

    @Override
    public String roleName() {
        return "courier-floor-aeron-poller";
    }

    /** A pair on its way to connected; touched by the poller thread only. */
    private final class Opening {

        final int index;
        final LoadSink sink;
        final long registrationId;
        final long deadlineNanos;
        final CompletableFuture<Pair> future = new CompletableFuture<>();
        ExclusivePublication publication;

        Opening(int index, LoadSink sink, long registrationId, long deadlineNanos) {
            this.index = index;
            this.sink = sink;
            this.registrationId = registrationId;
            this.deadlineNanos = deadlineNanos;
        }

        /** True when done, either way. */
        boolean advance(long now) {
            if (publication == null) {
                try {
                    publication = aeron.getExclusivePublication(registrationId);
                } catch (RuntimeException e) {
                    future.completeExceptionally(new IllegalStateException("Aeron floor " + address + ": pair " + index
                        + " could not publish on " + address.pingChannel() + ": " + e.getMessage(), e));
                    return true;
                }
            }
            if (publication != null && publication.isConnected() && pong.isConnected()) {
                register(index, sink);
                AeronPair pair = new AeronPair(index, publication, sink, AeronPongPoller.this);
                // Off the poller thread: whatever the caller chains on must not stall receiving.
                future.completeAsync(() -> pair);
                return true;
            }
            if (now - deadlineNanos > 0) {
                fail("ping publication on " + address.pingChannel() + " connected: "
                    + (publication != null && publication.isConnected()) + ", pong subscription on "
                    + address.pongChannel() + " connected: " + pong.isConnected()
                    + " after " + TimeUnit.NANOSECONDS.toSeconds(OPEN_TIMEOUT_NANOS) + " s: is the floor running?");
                return true;
            }
            return false;
        }

        void fail(String why) {
            if (publication != null) {
                CloseHelper.quietClose(publication);
            } else {
                aeron.asyncRemovePublication(registrationId);
            }
            future.completeExceptionally(new IllegalStateException("Aeron floor " + address + ", pair " + index + ": " + why));
        }
    }
}
