package io.courier.transport.udp;

import io.courier.transport.TransportProvider;
import io.courier.transport.TransportSettings;
import io.courier.transport.tck.TransportConformanceKit;
import java.util.Map;

/** Reliable UDP on NIO ({@code io: nio}, the fallback where epoll is missing) passes the same kit. */
class UdpNioConformanceTest extends TransportConformanceKit {

    @Override
    protected TransportProvider provider() {
        return new UdpTransportProvider();
    }

    @Override
    protected TransportSettings serverSettings() {
        return new TransportSettings(TransportSettings.DEFAULT_HOST, 0, MAX_FRAME_BYTES, Map.of("io", "nio"));
    }
}
