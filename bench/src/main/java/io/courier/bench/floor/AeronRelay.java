package io.courier.bench.floor;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import org.agrona.CloseHelper;
import org.agrona.concurrent.AgentRunner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Aeron floor's middle process: an embedded SHARED media driver, a client of it subscribed to
 * the ping stream and publishing the pong stream, and one {@link AeronRelayAgent} thread between
 * the two — Aeron's ping-pong, except that the pong goes on to the load process's receivers, so
 * the shape is the same as Courier's (sender → middle → receiver).
 */
final class AeronRelay implements FloorServer.Handle {

    private static final Logger LOG = LoggerFactory.getLogger(AeronRelay.class);
    private static final String LOOPBACK = "127.0.0.1";

    private final MediaDriver driver;
    private final Aeron aeron;
    private final AgentRunner runner;
    private final AeronFloorAddress address;

    private AeronRelay(MediaDriver driver, Aeron aeron, AgentRunner runner, AeronFloorAddress address) {
        this.driver = driver;
        this.aeron = aeron;
        this.runner = runner;
        this.address = address;
    }

    /** Both streams over {@code aeron:ipc}; load processes connect to this relay's driver. */
    static AeronRelay startIpc() {
        return start(driver -> AeronFloorAddress.ipc(driver.aeronDirectoryName()));
    }

    /**
     * Ping on UDP loopback {@code port}, pong to {@code port + 1}; with 0, two free ports. (A free
     * port is found by binding and releasing it, so another process could take it in between: this
     * is a benchmark on a quiet box, not a server.)
     */
    static AeronRelay startUdp(int port) {
        int[] ports = port == 0 ? freeUdpPorts() : new int[] {port, port + 1};
        return start(driver -> AeronFloorAddress.udp(LOOPBACK + ":" + ports[0], LOOPBACK + ":" + ports[1]));
    }

    private interface Addressing {
        AeronFloorAddress of(MediaDriver driver);
    }

    private static AeronRelay start(Addressing addressing) {
        MediaDriver driver = AeronFloorDriver.launch("relay");
        Aeron aeron = null;
        try {
            AeronFloorAddress address = addressing.of(driver);
            aeron = AeronFloorDriver.connect(driver.aeronDirectoryName(), "relay");
            Subscription ping = aeron.addSubscription(address.pingChannel(), AeronFloorAddress.PING_STREAM_ID);
            ExclusivePublication pong = aeron.addExclusivePublication(address.pongChannel(),
                AeronFloorAddress.PONG_STREAM_ID);
            String directory = driver.aeronDirectoryName();
            AgentRunner runner = new AgentRunner(AeronFloorDriver.messagePathIdle(),
                error -> LOG.error("Aeron relay in {} failed", directory, error), null, new AeronRelayAgent(ping, pong));
            AgentRunner.startOnThread(runner);
            LOG.info("Aeron floor {} relaying {} -> {} (driver in {})", address, address.pingChannel(),
                address.pongChannel(), directory);
            return new AeronRelay(driver, aeron, runner, address);
        } catch (RuntimeException e) {
            CloseHelper.quietCloseAll(aeron, driver);
            throw e;
        }
    }

    @Override
    public String address() {
        return address.toString();
    }

    @Override
    public void close() {
        CloseHelper.closeAll(runner, aeron, driver);
    }

    /** Two ports, held together while they are picked so they differ. */
    private static int[] freeUdpPorts() {
        try (DatagramSocket ping = new DatagramSocket(0, InetAddress.getByName(LOOPBACK));
             DatagramSocket pong = new DatagramSocket(0, InetAddress.getByName(LOOPBACK))) {
            return new int[] {ping.getLocalPort(), pong.getLocalPort()};
        } catch (IOException e) {
            throw new UncheckedIOException("No free UDP port on " + LOOPBACK + " for the Aeron floor", e);
        }
    }
}
