package io.courier.transport.ws;

import io.courier.transport.TransportProvider;
import io.courier.transport.tck.TransportConformanceKit;

/** WebSocket passes the transport conformance kit, unchanged. */
class WsTransportConformanceTest extends TransportConformanceKit {

    @Override
    protected TransportProvider provider() {
        return new WsTransportProvider();
    }
}
