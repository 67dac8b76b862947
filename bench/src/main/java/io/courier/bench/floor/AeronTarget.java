package io.courier.bench.floor;

import io.aeron.Aeron;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.courier.bench.load.LoadSink;
import io.courier.bench.load.Pair;
import io.courier.bench.load.Target;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.agrona.CloseHelper;
import org.agrona.concurrent.AgentRunner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Aeron floors ({@link AeronRelay}) as the load generator drives them. Over IPC the load
 * process is a client of the relay's media driver; over UDP it runs its own embedded SHARED driver
 * (a fresh directory, deleted on close). Each pair publishes on its own exclusive ping publication;
 * all pairs receive through one pong subscription and one {@link AeronPongPoller} thread, which
 * routes each message to its pair's sink by the index in front of it ({@link AeronRoute}). One
 * thread rather than one per pair: the box has 2 cores, and a floor should not lose to its own
 * thread count. There is no acknowledgement, so {@link LoadSink#accepted} is never called.
 *
 * <p>UDP pong traffic is unicast to one endpoint, so one load process per UDP floor. No options.
 */
public final class AeronTarget implements Target {

    private static final Logger LOG = LoggerFactory.getLogger(AeronTarget.class);

    private final MediaDriver driver;
    private final Aeron aeron;
    private final AgentRunner runner;
    private final AeronPongPoller poller;

    private AeronTarget(MediaDriver driver, Aeron aeron, AgentRunner runner, AeronPongPoller poller) {
        this.driver = driver;
        this.aeron = aeron;
        this.runner = runner;
        this.poller = poller;
    }

    /**
     * Connects to the floor and subscribes to its pong stream; may block while the media driver
     * answers (seconds at most).
     *
     * @param address {@code aeron-ipc:DIR} or {@code aeron-udp://HOST:P1/HOST:P2}, as {@link FloorServer} prints it.
     * @throws IllegalArgumentException for a malformed address.
     * @throws IllegalStateException    if the floor's driver (IPC) cannot be reached.
     */
    public static AeronTarget open(String address, Map<String, String> options) {
        AeronFloorAddress floor = AeronFloorAddress.parse(address);
        MediaDriver driver = floor.isIpc() ? null : AeronFloorDriver.launch("load");
        Aeron aeron = null;
        try {
            String directory = floor.isIpc() ? floor.driverDirectory() : driver.aeronDirectoryName();
            try {
                aeron = AeronFloorDriver.connect(directory, "load");
            } catch (RuntimeException e) {
                throw new IllegalStateException("Could not reach the Aeron media driver in " + directory + " for floor "
                    + address + ": " + e.getMessage() + " (is FloorServer aeron-ipc running?)", e);
            }
            Subscription pong = aeron.addSubscription(floor.pongChannel(), AeronFloorAddress.PONG_STREAM_ID);
            AeronPongPoller poller = new AeronPongPoller(aeron, pong, floor);
            AgentRunner runner = new AgentRunner(AeronFloorDriver.messagePathIdle(),
                error -> LOG.error("Aeron floor {}: receiving failed", address, error), null, poller);
            AgentRunner.startOnThread(runner);
            return new AeronTarget(driver, aeron, runner, poller);
        } catch (RuntimeException e) {
            CloseHelper.quietCloseAll(aeron, driver);
            throw e;
        }
    }

    @Override
    public CompletableFuture<Pair> openPair(int index, LoadSink sink) {
        return poller.open(index, sink);
    }

    /** @throws UnsupportedOperationException always: density is measured on Courier, not on floors. */
    @Override
    public CompletableFuture<AutoCloseable> openIdle(int index) {
        throw new UnsupportedOperationException("Aeron floors have no idle connections to open: density is not "
            + "measured for floors (use the relay floor, relay://, for an idle-socket baseline)");
    }

    @Override
    public void close() {
        CloseHelper.closeAll(runner, aeron, driver);
    }
}
