package io.courier.bench.fleet;

import io.aeron.Aeron;
import io.aeron.Publication;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A load generator's end of the reports channel: an Aeron client of the coordinator's driver
 * ({@link ReportHub}), publishing JSON messages on {@code aeron:ipc}. Histograms travel inside
 * them, compressed and base64-encoded; Aeron fragments and reassembles the large ones.
 */
final class Reporter implements AutoCloseable {

    private static final long OFFER_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final Aeron aeron;
    private final Publication publication;
    private final int id;

    Reporter(String directory, int id) {
        this.aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(directory));
        this.publication = aeron.addPublication(ReportHub.CHANNEL, ReportHub.STREAM);
        this.id = id;
    }

    /** Publishes {@code message} with this process's id; waits (bounded) through back pressure. */
    synchronized void send(String type, JsonObject message) {
        byte[] bytes = ReportHub.encode(message.copy().put("type", type).put("process", id));
        UnsafeBuffer buffer = new UnsafeBuffer(bytes);
        long deadline = System.nanoTime() + OFFER_TIMEOUT_NANOS;
        long result;
        while ((result = publication.offer(buffer, 0, bytes.length)) < 0) {
            if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED
                || System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("Could not report '" + type + "' to the coordinator (offer result "
                    + result + ")");
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }

    @Override
    public void close() {
        publication.close();
        aeron.close();
    }
}
