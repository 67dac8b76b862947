package io.courier.transport.udp;

import io.courier.plugin.PluginOption;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportProvider;
import io.courier.transport.TransportOptions;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.netty.EventLoops;
import io.courier.transport.udp.internal.UdpClient;
import io.courier.transport.udp.internal.UdpServer;
import java.util.List;

/**
 * The {@code udp} transport: Courier frames over Netty datagrams with a reliability layer of its
 * own — a stateless-cookie handshake (no amplification), connection ids, per-direction sequence
 * numbers, cumulative and selective acknowledgements, retransmission timed by RFC 6298's
 * estimator, fragmentation of frames above one 1,200-byte datagram, in-order delivery, keep-alive
 * and idle timeout, a bounded send window, and a per-address handshake rate limit. The datagram
 * layout and these rules are specified in {@code docs/PROTOCOL.md}, section 5 (UDP).
 *
 * <p>Server options ({@link #options()}): {@link #WINDOW}, {@link #MIN_RTO_MS},
 * {@link #IDLE_TIMEOUT_MS}, {@link #HANDSHAKES_PER_SECOND}, {@link #HANDSHAKE_BURST},
 * {@link EventLoops#IO} (epoll where it loads by default, NIO otherwise, io_uring on request: see
 * {@link EventLoops}) and {@link TransportOptions#MAX_UNREAD_OUTPUT_BYTES} (DATA sent and not
 * acknowledged plus DATA queued
 * behind the window; a client that stops acknowledging is closed with {@code SLOW_CONSUMER}). A client
 * reads {@code window}, {@code min-rto-ms}, {@code idle-timeout-ms} and {@code io} too, and
 * {@link #KEEPALIVE_MS}, {@link #CONNECT_TIMEOUT_MS} and {@link #CLIENT_THREADS}.
 */
public final class UdpTransportProvider implements TransportProvider {

    /** The name configuration selects this transport by. */
    public static final String NAME = "udp";

    /** Unacknowledged datagrams per direction (server and client). */
    public static final PluginOption WINDOW = PluginOption.positiveInt("window", 64,
        "unacknowledged datagrams per direction");
    /** Lower bound of the retransmission timeout (server and client). */
    public static final PluginOption MIN_RTO_MS = PluginOption.positiveInt("min-rto-ms", 50,
        "lower bound of the retransmission timeout");
    /** Silence after which a connection is closed (server and client). */
    public static final PluginOption IDLE_TIMEOUT_MS = PluginOption.positiveInt("idle-timeout-ms", 30_000,
        "a connection silent this long is closed (clients ping every 2 s)");
    /** Handshakes a source address may start per second, after a burst. */
    public static final PluginOption HANDSHAKES_PER_SECOND = PluginOption.positiveNumber("handshakes-per-second", 20,
        "handshakes per second per source address");
    /** Handshakes a source address may start at once. */
    public static final PluginOption HANDSHAKE_BURST = PluginOption.positiveNumber("handshake-burst", 40,
        "handshakes a source address may start at once");
    /** Client: how often an idle connection pings. */
    public static final PluginOption KEEPALIVE_MS = PluginOption.positiveInt("keepalive-ms", 2_000,
        "client: ping interval of an idle connection");
    /** Client: how long a handshake may take. */
    public static final PluginOption CONNECT_TIMEOUT_MS = PluginOption.positiveInt("connect-timeout-ms", 5_000,
        "client: how long the handshake may take");
    /** Client: event-loop threads. */
    public static final PluginOption CLIENT_THREADS = PluginOption.positiveInt("threads", 2, "client: I/O threads");

    private static final List<PluginOption> SERVER_OPTIONS = List.of(WINDOW, MIN_RTO_MS, IDLE_TIMEOUT_MS,
        HANDSHAKES_PER_SECOND, HANDSHAKE_BURST, TransportOptions.MAX_UNREAD_OUTPUT_BYTES, EventLoops.IO, EventLoops.EPOLL);

    @Override
    public String name() {
        return NAME;
    }

    /** What the server reads: window, retransmission floor, idle timeout, handshake rate limit, unread output. */
    @Override
    public List<PluginOption> options() {
        return SERVER_OPTIONS;
    }

    @Override
    public TransportServer createServer(TransportSettings settings, ConnectionHandler handler) {
        return new UdpServer(settings, handler);
    }

    @Override
    public TransportClient createClient(TransportSettings settings) {
        return new UdpClient(settings);
    }
}
