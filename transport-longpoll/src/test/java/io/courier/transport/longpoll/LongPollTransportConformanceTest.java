package io.courier.transport.longpoll;

import io.courier.transport.TransportProvider;
import io.courier.transport.tck.TransportConformanceKit;

/** HTTP long polling passes the transport conformance kit, unchanged. */
class LongPollTransportConformanceTest extends TransportConformanceKit {

    @Override
    protected TransportProvider provider() {
        return new LongPollTransportProvider();
    }
}
