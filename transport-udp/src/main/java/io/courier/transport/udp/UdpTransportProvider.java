package io.courier.transport.udp;

import io.courier.transport.ConnectionHandler;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportProvider;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.udp.internal.UdpClient;
import io.courier.transport.udp.internal.UdpServer;

/**
 * The {@code udp} transport: Courier frames over Netty datagrams with a reliability layer of its
 * own — a stateless-cookie handshake (no amplification), connection ids, per-direction sequence
 * numbers, cumulative and selective acknowledgements, retransmission timed by RFC 6298's
 * estimator, fragmentation of frames above one 1,200-byte datagram, in-order delivery, keep-alive
 * and idle timeout, a bounded send window, and a per-address handshake rate limit. The datagram
 * layout and these rules are specified in {@code docs/PROTOCOL.md}, section 5 (UDP).
 *
 * <p>Options: {@code window} (64 datagrams), {@code min-rto-ms} (50), {@code idle-timeout-ms}
 * (30000), {@code keepalive-ms} (client, 2000), {@code connect-timeout-ms} (client, 5000),
 * {@code handshakes-per-second} (20) and {@code handshake-burst} (40) per source address.
 */
public final class UdpTransportProvider implements TransportProvider {

    /** The name configuration selects this transport by. */
    public static final String NAME = "udp";

    @Override
    public String name() {
        return NAME;
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
