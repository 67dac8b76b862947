package io.courier.client.internal;

import java.net.URI;

/** Which transport serves an address: its scheme says. */
final class Transports {

    private Transports() {
    }

    /**
     * The transport provider's name for {@code address}.
     *
     * @throws IllegalArgumentException naming the address and the schemes there are
     */
    static String nameFor(URI address) {
        String scheme = address.getScheme() == null ? "" : address.getScheme().toLowerCase(java.util.Locale.ROOT);
        String name = switch (scheme) {
            case "tcp" -> "tcp";
            case "udp" -> "udp";
            case "ws", "wss" -> "ws";
            case "http", "https" -> "longpoll";
            default -> null;
        };
        if (name == null || address.getHost() == null || address.getPort() < 0 && !scheme.startsWith("http")
            && !scheme.startsWith("ws")) {
            throw new IllegalArgumentException("Server address '" + address + "' is not one Courier serves: use "
                + "tcp://HOST:PORT, udp://HOST:PORT, ws://HOST:PORT/ws or http://HOST:PORT/lp (long polling)");
        }
        return name;
    }
}
