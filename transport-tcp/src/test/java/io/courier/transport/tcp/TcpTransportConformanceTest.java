package io.courier.transport.tcp;

import io.courier.transport.TransportProvider;
import io.courier.transport.tck.TransportConformanceKit;

/** TCP passes the transport conformance kit. */
class TcpTransportConformanceTest extends TransportConformanceKit {

    @Override
    protected TransportProvider provider() {
        return new TcpTransportProvider();
    }
}
