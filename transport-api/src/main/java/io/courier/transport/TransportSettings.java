package io.courier.transport;

import java.util.Map;
import java.util.Objects;

/**
 * Immutable settings shared by every transport.
 *
 * @param host          address to bind (server) ; loopback by default.
 * @param port          port to bind; 0 picks a free one (tests).
 * @param maxFrameBytes largest encoded {@code Frame} accepted or sent; larger ones are refused
 *                      with {@code FRAME_TOO_LARGE}.
 * @param options       transport-specific options (for example {@code epoll=false}), as strings;
 *                      a transport reads those it declares in {@link TransportProvider#options()}
 *                      and ignores others (the server refuses undeclared ones before it starts).
 * @param gate          the server's admission control, shared by all its transports: a server
 *                      asks it before it holds anything for a new client (see
 *                      {@link ConnectionGate}); {@link ConnectionGate#unlimited()} unless given.
 */
public record TransportSettings(String host, int port, int maxFrameBytes, Map<String, String> options,
                                ConnectionGate gate) {

    /** Loopback: binding anywhere else is an explicit choice in configuration. */
    public static final String DEFAULT_HOST = "127.0.0.1";

    /** 1 MiB of payload plus room for the envelope. */
    public static final int DEFAULT_MAX_FRAME_BYTES = 1024 * 1024 + 4096;

    /** The smallest limit a transport must accept: a Hello with a long token must fit. */
    public static final int MIN_MAX_FRAME_BYTES = 1024;

    public TransportSettings {
        Objects.requireNonNull(host, "host");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535, was " + port);
        }
        if (maxFrameBytes < MIN_MAX_FRAME_BYTES) {
            throw new IllegalArgumentException(
                "maxFrameBytes must be at least " + MIN_MAX_FRAME_BYTES + ", was " + maxFrameBytes);
        }
        options = Map.copyOf(options);
        Objects.requireNonNull(gate, "gate");
    }

    /** Settings with no admission limit ({@link ConnectionGate#unlimited()}). */
    public TransportSettings(String host, int port, int maxFrameBytes, Map<String, String> options) {
        this(host, port, maxFrameBytes, options, ConnectionGate.unlimited());
    }

    /** Loopback, the given port, the default frame limit, no options. */
    public static TransportSettings of(int port) {
        return new TransportSettings(DEFAULT_HOST, port, DEFAULT_MAX_FRAME_BYTES, Map.of());
    }

    /** A copy with another frame limit. */
    public TransportSettings withMaxFrameBytes(int bytes) {
        return new TransportSettings(host, port, bytes, options, gate);
    }

    /** A copy whose servers admit connections through {@code gate}. */
    public TransportSettings withGate(ConnectionGate gate) {
        return new TransportSettings(host, port, maxFrameBytes, options, gate);
    }

    /** The option's value, or {@code fallback} when absent. */
    public String option(String key, String fallback) {
        return options.getOrDefault(key, fallback);
    }
}
