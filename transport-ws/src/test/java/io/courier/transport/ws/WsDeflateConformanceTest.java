package io.courier.transport.ws;

import io.courier.transport.TransportProvider;
import io.courier.transport.TransportSettings;
import io.courier.transport.tck.TransportConformanceKit;
import java.util.Map;

/** WebSocket with permessage-deflate negotiated on both sides passes the same kit. */
class WsDeflateConformanceTest extends TransportConformanceKit {

    private static final Map<String, String> DEFLATE = Map.of("permessage-deflate", "true");

    @Override
    protected TransportProvider provider() {
        return new WsTransportProvider();
    }

    @Override
    protected TransportSettings serverSettings() {
        return new TransportSettings("127.0.0.1", 0, MAX_FRAME_BYTES, DEFLATE);
    }

    @Override
    protected TransportSettings clientSettings() {
        return new TransportSettings("127.0.0.1", 0, MAX_FRAME_BYTES, DEFLATE);
    }
}
