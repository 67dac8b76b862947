package io.courier.transport.ws;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.courier.transport.TransportProvider;
import io.courier.transport.TransportSettings;
import io.courier.transport.netty.EventLoops;
import io.courier.transport.tck.TransportConformanceKit;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;

/**
 * Ws on io_uring ({@code io: io_uring}) passes the same kit, where the kernel has io_uring;
 * elsewhere the run is skipped, saying why (the transport itself would fall back to epoll).
 */
class WsIoUringConformanceTest extends TransportConformanceKit {

    @BeforeAll
    static void ioUringIsAvailable() {
        Throwable cause = EventLoops.unavailabilityCause(EventLoops.Io.IO_URING);
        assumeTrue(cause == null, () -> "io_uring is unavailable on this machine: " + cause);
    }

    @Override
    protected TransportProvider provider() {
        return new WsTransportProvider();
    }

    @Override
    protected TransportSettings serverSettings() {
        return new TransportSettings(TransportSettings.DEFAULT_HOST, 0, MAX_FRAME_BYTES, Map.of("io", "io_uring"));
    }
}
