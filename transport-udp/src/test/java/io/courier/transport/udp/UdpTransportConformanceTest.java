package io.courier.transport.udp;

import io.courier.transport.TransportProvider;
import io.courier.transport.tck.TransportConformanceKit;

/** Reliable UDP, on epoll where available (NIO otherwise), passes the transport conformance kit, unchanged. */
class UdpTransportConformanceTest extends TransportConformanceKit {

    @Override
    protected TransportProvider provider() {
        return new UdpTransportProvider();
    }
}
