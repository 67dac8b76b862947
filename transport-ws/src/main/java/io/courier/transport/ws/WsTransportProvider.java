package io.courier.transport.ws;

import io.courier.transport.ConnectionHandler;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportProvider;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.ws.internal.WsClient;
import io.courier.transport.netty.NettyServer;
import io.courier.transport.ws.internal.WsServerInitializer;
import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The {@code ws} transport: WebSocket on Netty, one Courier frame per WebSocket message, in one of
 * two sub-protocols negotiated per connection:
 * <ul>
 *   <li>{@code courier.v1.proto} — binary messages holding the protobuf {@code Frame};
 *   <li>{@code courier.v1.json} — text messages holding the frame in protobuf's JSON mapping, for
 *       browsers.
 * </ul>
 * A connection that negotiates neither is closed with a reason naming both.
 *
 * <p>Options: {@code path} ({@code /ws}), {@code allowed-origins} (comma-separated; {@code *},
 * the default, allows any; requests without an Origin header, i.e. not from a browser, are always
 * allowed), {@code permessage-deflate} ({@code false}), {@code threads}, {@code epoll}.
 */
public final class WsTransportProvider implements TransportProvider {

    /** The name configuration selects this transport by. */
    public static final String NAME = "ws";

    /** The binary sub-protocol. */
    public static final String PROTO = "courier.v1.proto";

    /** The text (JSON) sub-protocol. */
    public static final String JSON = "courier.v1.json";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public TransportServer createServer(TransportSettings settings, ConnectionHandler handler) {
        String path = settings.option("path", "/ws");
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("Transport option 'path' must start with '/', was '" + path + "'");
        }
        Set<String> origins = Arrays.stream(settings.option("allowed-origins", "*").split(","))
            .map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
        boolean deflate = Boolean.parseBoolean(settings.option("permessage-deflate", "false"));
        return new NettyServer(settings, NAME, path, "WebSocket", (open, channels) ->
            new WsServerInitializer(path, settings.maxFrameBytes(), origins, deflate, handler, open, channels));
    }

    @Override
    public TransportClient createClient(TransportSettings settings) {
        return new WsClient(settings);
    }
}
