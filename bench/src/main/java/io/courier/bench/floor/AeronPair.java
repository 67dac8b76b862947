package io.courier.bench.floor;

import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.courier.bench.load.LoadSink;
import io.courier.bench.load.Pair;
import java.nio.ByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * One Aeron floor pair: its own exclusive ping publication (as a real Aeron sender would have),
 * receiving through the target's shared {@link AeronPongPoller}. {@link #send} offers the route and
 * the payload as two buffers, so the payload is copied once, into the log; a back-pressured offer
 * is retried a bounded number of times and then reported to the sink, never waited out.
 *
 * <p>Not thread-safe: an exclusive publication has one writer, the generator's thread.
 */
final class AeronPair implements Pair {

    /** Back-pressure on a floor is a stalled relay: a few hundred spins is patience enough. */
    static final int MAX_OFFER_ATTEMPTS = 256;

    private final int index;
    private final ExclusivePublication publication;
    private final LoadSink sink;
    private final AeronPongPoller poller;
    private final UnsafeBuffer route = new UnsafeBuffer(ByteBuffer.allocateDirect(AeronRoute.INDEX_BYTES));
    private final UnsafeBuffer body = new UnsafeBuffer(new byte[0]);

    AeronPair(int index, ExclusivePublication publication, LoadSink sink, AeronPongPoller poller) {
        this.index = index;
        this.publication = publication;
        this.sink = sink;
        this.poller = poller;
        route.putInt(AeronRoute.INDEX_OFFSET, index, AeronRoute.INDEX_ORDER);
    }

    @Override
    public void send(byte[] payload) {
        body.wrap(payload);
        for (int attempt = 0; attempt < MAX_OFFER_ATTEMPTS; attempt++) {
            long result = publication.offer(route, 0, AeronRoute.INDEX_BYTES, body, 0, payload.length);
            if (result > 0) {
                return;
            }
            if (result != Publication.BACK_PRESSURED && result != Publication.ADMIN_ACTION) {
                sink.failed("Aeron floor pair " + index + ": offer on " + publication.channel() + " " + describe(result));
                return;
            }
            Thread.onSpinWait();
        }
        sink.failed("Aeron floor pair " + index + ": " + publication.channel() + " still back-pressured after "
            + MAX_OFFER_ATTEMPTS + " offers");
    }

    @Override
    public void close() {
        poller.unregister(index, sink);
        publication.close();
    }

    private static String describe(long result) {
        if (result == Publication.NOT_CONNECTED) {
            return "not connected: the relay is gone";
        } else if (result == Publication.CLOSED) {
            return "closed";
        } else if (result == Publication.MAX_POSITION_EXCEEDED) {
            return "exceeded its maximum position";
        }
        return "failed with " + result;
    }
}
