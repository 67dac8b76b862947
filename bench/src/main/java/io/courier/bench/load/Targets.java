package io.courier.bench.load;

import io.courier.bench.floor.AeronTarget;
import io.courier.bench.floor.RawRelayTarget;
import io.courier.bench.peer.MqttTarget;
import java.util.Map;

/** Opens the {@link Target} an address names, by its scheme. */
public final class Targets {

    private Targets() {
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
