package io.courier.transport.tcp;

import io.courier.transport.TransportProvider;
import io.courier.transport.TransportSettings;
import io.courier.transport.tck.TransportConformanceKit;
import java.util.Map;

/** TCP on NIO ({@code epoll=false}, the fallback where epoll is missing) passes the same kit. */
class TcpNioConformanceTest extends TransportConformanceKit {

    @Override
    protected TransportProvider provider() {
        return new TcpTransportProvider();
    }

    @Override
    protected TransportSettings serverSettings() {
        return new TransportSettings(TransportSettings.DEFAULT_HOST, 0, MAX_FRAME_BYTES, Map.of("epoll", "false"));
    }
}
