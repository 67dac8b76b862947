package io.courier.bench.load;

import io.courier.bench.floor.AeronTarget;
import io.courier.bench.floor.RawRelayTarget;
import io.courier.bench.peer.MqttTarget;
import java.util.Map;
import java.util.Set;

/** Opens the {@link Target} an address names, by its scheme. */
public final class Targets {

    private Targets() {
    }

    /** The target option that makes every pair's receiver reply at once ({@code rtt=true}). */
    public static final String ROUND_TRIP = "rtt";

    /**
     * Whether {@code options} ask for round trips: the receiver replies to each message at once,
     * and the sink hears of the reply's arrival at the sender.
     *
     * @throws IllegalArgumentException when {@code rtt} is neither true nor false.
     */
    public static boolean roundTrip(Map<String, String> options) {
        String value = options.getOrDefault(ROUND_TRIP, "false");
        if (!value.equals("true") && !value.equals("false")) {
            throw new IllegalArgumentException("Target option '" + ROUND_TRIP + "' must be true or false, was '" + value + "'");
        }
        return Boolean.parseBoolean(value);
    }

    /**
     * Opens a target.
     *
     * @param address {@code tcp://…}, {@code udp://…}, {@code ws://…/ws}, {@code http://…/lp} (Courier);
     *                {@code mqtt://host:port} (an MQTT broker);
     *                {@code relay://host:port} (the raw TCP relay floor);
     *                {@code aeron-ipc:DIR} and {@code aeron-udp://host:port/host:port} (the Aeron floors).
     * @param options target options from the command line ({@code key=value}).
     */
    public static Target open(String address, Map<String, String> options) {
        String scheme = address.substring(0, Math.max(0, address.indexOf(':')));
        if (roundTrip(options) && !Set.of("tcp", "udp", "ws", "wss", "http", "https", "mqtt", "relay").contains(scheme)) {
            throw new IllegalArgumentException("Round trips (rtt) are measured on Courier, MQTT and the raw relay "
                + "floor only, not on '" + address + "': the Aeron floors carry one way");
        }
        return switch (scheme) {
            case "tcp", "udp", "ws", "wss", "http", "https" -> CourierTarget.open(address, options);
            case "mqtt" -> MqttTarget.open(address, options);
            case "relay" -> RawRelayTarget.open(address, options);
            case "aeron-ipc", "aeron-udp" -> AeronTarget.open(address, options);
            default -> throw new IllegalArgumentException("No load target for '" + address
                + "': use tcp://, udp://, ws://, http:// (Courier), mqtt://, relay://, aeron-ipc: or aeron-udp://");
        };
    }
}
