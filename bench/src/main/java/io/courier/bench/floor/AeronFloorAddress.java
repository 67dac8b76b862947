package io.courier.bench.floor;

/**
 * Where an Aeron floor is and which channels it relays, in both directions of the round trip
 * (ping: load → relay, pong: relay → load). Written as the address the load generator takes:
 * <ul>
 *   <li>{@code aeron-ipc:/dev/shm/DIR}: the relay's media driver directory; the load process
 *       connects to that driver, and both streams are {@code aeron:ipc}.
 *   <li>{@code aeron-udp://127.0.0.1:P1/127.0.0.1:P2}: the relay subscribes to
 *       {@code aeron:udp?endpoint=127.0.0.1:P1} and publishes to {@code …endpoint=127.0.0.1:P2},
 *       where the load process (with its own media driver) subscribes.
 * </ul>
 *
 * @param driverDirectory the relay's driver directory (IPC), or null (UDP: the load process runs its own).
 * @param pingChannel     the channel the load process publishes on and the relay subscribes to.
 * @param pongChannel     the channel the relay publishes on and the load process subscribes to.
 */
record AeronFloorAddress(String driverDirectory, String pingChannel, String pongChannel) {

    /** The stream load senders publish on, the relay's input. */
    static final int PING_STREAM_ID = 1001;
    /** The stream the relay republishes on, the load receivers' input. */
    static final int PONG_STREAM_ID = 1002;

    static final String IPC_SCHEME = "aeron-ipc:";
    static final String UDP_SCHEME = "aeron-udp://";

    private static final String IPC_CHANNEL = "aeron:ipc";

    static AeronFloorAddress ipc(String driverDirectory) {
        return new AeronFloorAddress(driverDirectory, IPC_CHANNEL, IPC_CHANNEL);
    }

    static AeronFloorAddress udp(String pingEndpoint, String pongEndpoint) {
        return new AeronFloorAddress(null, udpChannel(pingEndpoint), udpChannel(pongEndpoint));
    }

    /**
     * Reads an address as {@link #toString()} writes it.
     *
     * @throws IllegalArgumentException naming the address and the expected forms.
     */
    static AeronFloorAddress parse(String address) {
        if (address.startsWith(IPC_SCHEME) && address.length() > IPC_SCHEME.length()) {
            return ipc(address.substring(IPC_SCHEME.length()));
        }
        if (address.startsWith(UDP_SCHEME)) {
            String[] endpoints = address.substring(UDP_SCHEME.length()).split("/", -1);
            if (endpoints.length == 2 && isEndpoint(endpoints[0]) && isEndpoint(endpoints[1])) {
                return udp(endpoints[0], endpoints[1]);
            }
        }
        throw new IllegalArgumentException("Aeron floor address must be aeron-ipc:DRIVER_DIR or "
            + "aeron-udp://HOST:PING_PORT/HOST:PONG_PORT, was '" + address + "'");
    }

    boolean isIpc() {
        return driverDirectory != null;
    }

    @Override
    public String toString() {
        return isIpc() ? IPC_SCHEME + driverDirectory
            : UDP_SCHEME + endpoint(pingChannel) + "/" + endpoint(pongChannel);
    }

    private static String udpChannel(String endpoint) {
        return "aeron:udp?endpoint=" + endpoint;
    }

    private static String endpoint(String udpChannel) {
        return udpChannel.substring(udpChannel.indexOf('=') + 1);
    }

    private static boolean isEndpoint(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            return false;
        }
        for (int i = colon + 1; i < text.length(); i++) {
            if (!Character.isDigit(text.charAt(i))) {
                return false;
            }
        }
        return true;
    }
}
