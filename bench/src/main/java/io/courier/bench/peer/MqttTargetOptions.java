package io.courier.bench.peer;

import io.courier.bench.load.Targets;
import io.netty.handler.codec.mqtt.MqttQoS;
import java.util.Map;

/**
 * The {@link MqttTarget}'s options, read once from the command line's {@code key=value} pairs so a
 * typo fails before any connection opens. Unknown keys are ignored, as every target ignores the
 * options of the others.
 *
 * @param userPrefix       {@code user-prefix}: client ids and topics start with it, so two runs
 *                         against one broker do not collide. Default {@code bench}.
 * @param qos              {@code qos}: 1 (default; PUBACK is the sender's accepted tick, the
 *                         receiver acknowledges each delivery) or 0 (fire and forget, no accepted
 *                         tick, as the floors).
 * @param keepAliveSeconds {@code keep-alive}: seconds announced in CONNECT; every connection sends
 *                         a PINGREQ this often. Default 60, the usual MQTT client setting; 5 matches
 *                         Courier's heartbeat interval.
 * @param connectTimeoutMs {@code connect-timeout-ms}: TCP connect plus CONNACK (plus SUBACK) must
 *                         finish within it. Default 30,000, so a burst of density connects is not
 *                         cut short.
 * @param threads          {@code threads}: event loop threads shared by every connection. Default
 *                         2, as Courier's TCP client.
 * @param epoll            {@code epoll}: use epoll when the native library loads (default
 *                         {@code true}); NIO otherwise.
 * @param roundTrip        {@code rtt}: the receiver republishes each message at once on the
 *                         sender's reply topic (default {@code false}).
 */
record MqttTargetOptions(String userPrefix, MqttQoS qos, int keepAliveSeconds, int connectTimeoutMs,
                         int threads, boolean epoll, boolean roundTrip) {

    static final String DEFAULT_USER_PREFIX = "bench";
    static final int DEFAULT_QOS = 1;
    static final int DEFAULT_KEEP_ALIVE_SECONDS = 60;
    static final int DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
    static final int DEFAULT_THREADS = 2;

    /**
     * Reads and validates the options.
     *
     * @throws IllegalArgumentException naming the key and the bad value.
     */
    static MqttTargetOptions parse(Map<String, String> options) {
        String prefix = options.getOrDefault("user-prefix", DEFAULT_USER_PREFIX);
        if (prefix.isEmpty() || prefix.contains("/") || prefix.contains("+") || prefix.contains("#")) {
            throw new IllegalArgumentException(
                "Target option 'user-prefix' must be non-empty without '/', '+' or '#' (it is a topic level), was '"
                    + prefix + "'");
        }
        int qos = intOption(options, "qos", DEFAULT_QOS, 0, 1);
        int keepAlive = intOption(options, "keep-alive", DEFAULT_KEEP_ALIVE_SECONDS, 1, 65_535);
        int timeout = intOption(options, "connect-timeout-ms", DEFAULT_CONNECT_TIMEOUT_MS, 1, Integer.MAX_VALUE);
        int threads = intOption(options, "threads", DEFAULT_THREADS, 1, 1024);
        String epoll = options.getOrDefault("epoll", "true");
        if (!epoll.equals("true") && !epoll.equals("false")) {
            throw new IllegalArgumentException("Target option 'epoll' must be true or false, was '" + epoll + "'");
        }
        return new MqttTargetOptions(prefix, MqttQoS.valueOf(qos), keepAlive, timeout, threads,
            Boolean.parseBoolean(epoll), Targets.roundTrip(options));
    }

    private static int intOption(Map<String, String> options, String key, int fallback, int min, int max) {
        String value = options.getOrDefault(key, Integer.toString(fallback));
        try {
            int parsed = Integer.parseInt(value.trim());
            if (parsed >= min && parsed <= max) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // fall through to the error below
        }
        throw new IllegalArgumentException(
            "Target option '" + key + "' must be an integer in " + min + ".." + max + ", was '" + value + "'");
    }
}
