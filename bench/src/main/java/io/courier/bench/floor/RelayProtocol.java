package io.courier.bench.floor;

/**
 * The raw relay floor's wire format: just enough to pair two sockets, then nothing of its own.
 *
 * <p>Each client connection opens with a header, once:
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |     Role      |          Pair index (int32, big-endian)       |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  (index, low) |
 *  +-+-+-+-+-+-+-+-+
 * </pre>
 * The relay answers one byte, {@link #JOINED}, to both sockets of a pair once both have arrived
 * (to an {@link #IDLE} socket at once), so a sender never writes into a void. From then on every
 * byte the sender writes reaches the receiver unchanged, and every byte the receiver writes (its
 * answers, in a round trip) reaches the sender; the relay neither parses nor stores it.
 * The clients frame messages themselves, and the relay does not care how:
 * <pre>
 *  +-------------------------------+---------------------------------------------+
 *  | Length (int32, big-endian)    | Payload (Length bytes; the first 8 are the  |
 *  |                               | scheduled send time, big-endian)            |
 *  +-------------------------------+---------------------------------------------+
 * </pre>
 */
final class RelayProtocol {

    /** The connection sends; what it writes goes to its pair's receiver. */
    static final byte SENDER = 1;
    /** The connection receives what its pair's sender writes; what it writes goes back to the sender. */
    static final byte RECEIVER = 2;
    /** The connection only holds a socket open (density runs); it is answered at once. */
    static final byte IDLE = 3;

    /** Role byte and pair index. */
    static final int HEADER_BYTES = 1 + Integer.BYTES;

    /** The relay's one answer: the pair is joined (or the idle socket accepted). */
    static final byte JOINED = 1;

    /** The clients' frame prefix. */
    static final int LENGTH_BYTES = Integer.BYTES;

    private RelayProtocol() {
    }

    static boolean isRole(byte role) {
        return role == SENDER || role == RECEIVER || role == IDLE;
    }

    static String roleName(byte role) {
        return switch (role) {
            case SENDER -> "sender";
            case RECEIVER -> "receiver";
            case IDLE -> "idle";
            default -> "unknown role " + role;
        };
    }
}
