package io.courier.transport.tcp;

import io.courier.transport.TransportProvider;
import io.courier.transport.tck.TransportConformanceKit;

/** TCP, on epoll where available (NIO otherwise), passes the transport conformance kit, unchanged. */
class TcpTransportConformanceTest extends TransportConformanceKit {

    @Override
    protected TransportProvider provider() {
        return new TcpTransportProvider();
    }
}
