package io.courier.bench.floor;

import java.nio.ByteOrder;

/**
 * The Aeron floors' message layout. Every pair's messages come back on one pong stream, so each
 * carries its pair index in front of the payload, the way a Courier frame carries its recipient;
 * the relay passes it through untouched.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |               Pair index (int32, little-endian, as Aeron's)   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |        Payload: scheduled send time (int64, big-endian)       |
 *  |                                                               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                     ... rest of the payload                  ...
 *  +---------------------------------------------------------------+
 * </pre>
 */
final class AeronRoute {

    static final int INDEX_OFFSET = 0;
    static final int INDEX_BYTES = Integer.BYTES;
    static final ByteOrder INDEX_ORDER = ByteOrder.LITTLE_ENDIAN;
    static final int PAYLOAD_OFFSET = INDEX_OFFSET + INDEX_BYTES;

    private AeronRoute() {
    }
}
