package io.courier.transport;

import io.courier.plugin.PluginOption;
import java.util.List;

/**
 * A transport plug-in: one wire technology (TCP, UDP, WebSocket, long polling) with a server side
 * and a client side. Implementations are discovered with {@link java.util.ServiceLoader} and
 * selected by {@link #name()} from configuration; see {@link TransportProviders#find(String)}.
 *
 * <p>Every provider must pass the conformance kit in {@code courier-transport-tck}.
 *
 * <p>A provider declares the options its server reads in {@link #options()}; the Courier server
 * refuses any other key under {@code transports.NAME.options}, and any value of the wrong type,
 * before it starts.
 */
public interface TransportProvider {

    /**
     * The name configuration selects this transport by, lower case, e.g. {@code "tcp"}. Unique
     * among the providers on the class path.
     */
    String name();

    /**
     * The options {@link #createServer} reads from {@link TransportSettings#options()}, each with
     * its default, in the order to document them. Read each through its {@link PluginOption} (e.g.
     * {@code WINDOW.intIn(settings.options())}) so the declared default is the one used. Options a
     * client alone reads need not be listed. None by default.
     */
    default List<PluginOption> options() {
        return List.of();
    }

    /**
     * Creates, without binding, a server that hands every accepted connection to {@code handler}.
     *
     * @param settings where to listen, the frame-size limit, and the server's
     *                 {@link TransportSettings#gate() admission gate}, which the server must ask
     *                 before it holds anything for a new client (see {@link ConnectionGate}).
     * @param handler  receives connection events; usually the router.
     * @return a server that listens once {@link TransportServer#start()} returns.
     */
    TransportServer createServer(TransportSettings settings, ConnectionHandler handler);

    /**
     * Creates a client that can open any number of connections to servers of this transport.
     *
     * @param settings the frame-size limit and transport options; host and port are ignored.
     */
    TransportClient createClient(TransportSettings settings);
}
