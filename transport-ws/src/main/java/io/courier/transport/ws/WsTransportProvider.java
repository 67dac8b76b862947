package io.courier.transport.ws;

import io.courier.plugin.PluginOption;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportProvider;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.ws.internal.WsClient;
import io.courier.transport.netty.EventLoops;
import io.courier.transport.netty.NettyServer;
import io.courier.transport.ws.internal.WsServerInitializer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
 * <p>Every accepted socket is admitted through {@link TransportSettings#gate()} before its
 * upgrade; a refused one is answered with HTTP 503 and a text body naming the limit, and closed.
 *
 * <p>Options ({@link #options()}, defaults there): {@code path}, {@code allowed-origins}
 * (comma-separated; {@code *} allows any; requests without an Origin header, i.e. not from a
 * browser, are always allowed), {@code permessage-deflate}, {@code upgrade-timeout-ms} (a
 * connection must complete its upgrade this long after it opened, however slowly it sends; then
 * the router's hello timeout starts), and Netty's {@code threads}, {@code io} (io_uring, epoll or NIO), the deprecated {@code epoll},
 * {@code write-buffer-high}, {@code write-buffer-low} and {@code max-unread-output-bytes}.
 */
public final class WsTransportProvider implements TransportProvider {

    /** The name configuration selects this transport by. */
    public static final String NAME = "ws";

    /** The binary sub-protocol. */
    public static final String PROTO = "courier.v1.proto";

    /** The text (JSON) sub-protocol. */
    public static final String JSON = "courier.v1.json";

    /** {@code path}: where the upgrade is served. */
    public static final PluginOption PATH = PluginOption.text("path", "/ws", "the upgrade path; other paths get 404");
    /** {@code allowed-origins}: browser origins. */
    public static final PluginOption ALLOWED_ORIGINS = PluginOption.text("allowed-origins", "*",
        "comma-separated browser origins (`*`: any); requests without Origin (non-browsers) always pass");
    /** {@code permessage-deflate}: compression, server and client. */
    public static final PluginOption PERMESSAGE_DEFLATE = PluginOption.flag("permessage-deflate", false,
        "negotiate compression");

    /** {@code upgrade-timeout-ms}: the time a new connection has to complete its upgrade. */
    public static final PluginOption UPGRADE_TIMEOUT_MS = PluginOption.positiveInt("upgrade-timeout-ms", 10_000,
        "a connection that has not completed its WebSocket upgrade this long after opening is closed; "
            + "router.hello-timeout-ms starts after it");

    private static final List<PluginOption> OPTIONS;

    static {
        List<PluginOption> options = new ArrayList<>(List.of(PATH, ALLOWED_ORIGINS, PERMESSAGE_DEFLATE, UPGRADE_TIMEOUT_MS));
        options.addAll(EventLoops.SERVER_OPTIONS);
        OPTIONS = List.copyOf(options);
    }

    @Override
    public String name() {
        return NAME;
    }

    /** {@code path}, {@code allowed-origins}, {@code permessage-deflate}, {@code upgrade-timeout-ms} and the Netty options. */
    @Override
    public List<PluginOption> options() {
        return OPTIONS;
    }

    /** @throws IllegalArgumentException when an option is malformed, naming it. */
    @Override
    public TransportServer createServer(TransportSettings settings, ConnectionHandler handler) {
        String path = PATH.textIn(settings.options());
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("Option 'path' must start with '/', was '" + path + "'");
        }
        Set<String> origins = Arrays.stream(ALLOWED_ORIGINS.textIn(settings.options()).split(","))
            .map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
        boolean deflate = PERMESSAGE_DEFLATE.booleanIn(settings.options());
        int upgradeTimeoutMs = UPGRADE_TIMEOUT_MS.intIn(settings.options());
        return new NettyServer(settings, NAME, path, "WebSocket", (open, channels, maxUnreadOutput) ->
            new WsServerInitializer(path, settings.maxFrameBytes(), origins, deflate, handler, open, channels,
                upgradeTimeoutMs, maxUnreadOutput, settings.gate()));
    }

    @Override
    public TransportClient createClient(TransportSettings settings) {
        return new WsClient(settings);
    }
}
