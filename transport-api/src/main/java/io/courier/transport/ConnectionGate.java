package io.courier.transport;

import java.net.InetAddress;

/**
 * Admission control shared by every transport of one server: a single count of the connections
 * the server holds, against a global limit and a limit per source address. The server creates one
 * gate and hands it to each transport in {@link TransportSettings#gate()}; a transport that holds
 * anything for a client asks the gate first, so that no client, over any mix of transports, can
 * make the server hold more than it may (and run it out of file descriptors).
 *
 * <p>What a transport does, ours or a third party's:
 * <ol>
 *   <li>Call {@link #admit} as soon as it holds something for a new client — an accepted socket
 *       (also a WebSocket before its upgrade), a UDP connection id, a long-polling session — and
 *       before {@link ConnectionHandler#onOpen}.</li>
 *   <li>When the answer is {@linkplain Admission#admitted() admitted}, go on as usual, and call
 *       {@link Admission#opened()} just before {@link ConnectionHandler#onOpen}. When it is
 *       refused, answer the client with {@link Admission#refusal()} in the transport's own way (an
 *       error frame, an HTTP 503, a UDP {@code REJECT}), never tell the router, and close.</li>
 *   <li>Call {@link Admission#release()} once what was held is freed — when the socket is closed,
 *       not when closing starts — admitted or refused (at once after answering, if a refusal held
 *       nothing).</li>
 *   <li>Pass {@link Connection#markAuthenticated()} on to {@link Admission#authenticated()}.</li>
 *   <li>Implement {@link Evictable}: the gate may close a connection that has not authenticated,
 *       to make room for a newcomer or because it never said hello.</li>
 * </ol>
 * A transport given no gate gets {@link #unlimited()}, which admits everything.
 *
 * <p>The router closes a connection that has not said hello within its hello timeout; the gate
 * does the same for what it admitted that never became a connection the router knows (a
 * WebSocket that never upgrades), so nothing holds a place unauthenticated for longer.
 *
 * <p>Implementations are thread-safe and never block: {@link #admit} runs on the transports' I/O
 * threads.
 */
public interface ConnectionGate {

    /**
     * Asks to hold a new connection from {@code source}. The answer is final: a refused client is
     * not admitted later. To admit a newcomer at a full limit, the gate may first
     * {@linkplain Evictable#evict evict} the oldest connection that has not authenticated (of the
     * same source, for the per-address limit); it never evicts an authenticated one.
     *
     * @param source    the client's IP address; the port plays no part.
     * @param transport the transport's {@link TransportProvider#name()}, for metrics and logs.
     * @param evictable how the gate closes this connection later, if it must.
     * @return the admission, admitted or refused; {@link Admission#release()} it either way.
     */
    Admission admit(InetAddress source, String transport, Evictable evictable);

    /** A gate that admits everything and never evicts: for tests and embedded use. */
    static ConnectionGate unlimited() {
        return (source, transport, evictable) -> Unlimited.ADMITTED;
    }

    /** One connection's place in the gate. Thread-safe; every method may be called from any thread. */
    interface Admission {

        /** True when the connection may proceed; false when it was refused. */
        boolean admitted();

        /**
         * Why the connection was refused — code {@code TOO_MANY_CONNECTIONS}, a text naming the
         * limit and its configuration key — or null when admitted.
         */
        io.courier.transport.proto.Error refusal();

        /**
         * The router now knows the connection ({@link ConnectionHandler#onOpen} follows): its hello
         * timeout is the router's from here. Until then the gate applies the same timeout itself.
         * Idempotent.
         */
        void opened();

        /**
         * The connection said a valid hello: from now on the gate never evicts it to make room.
         * Idempotent.
         */
        void authenticated();

        /** What the connection held is freed: its place is given back. Idempotent. */
        void release();
    }

    /**
     * How the gate closes a connection it admitted. Both methods may be called from any thread and
     * must not block: hand the work to the connection's own thread.
     */
    interface Evictable {

        /**
         * Tell the client {@code reason} (fatal; code {@code TOO_MANY_CONNECTIONS} or
         * {@code NOT_AUTHENTICATED}) in the transport's way and close, as
         * {@link Connection#closeWithError} does: the place is released when the connection is
         * closed. Called at most once.
         */
        void evict(io.courier.transport.proto.Error reason);

        /**
         * Close now, without waiting for the client to read what it was sent: the gate needs the
         * place back (too many connections are lingering after an eviction or refusal). May come
         * after {@link #evict}, or instead of the answer to a refusal. Idempotent.
         */
        void abort();
    }

    /** The admission {@link #unlimited()} hands out. */
    final class Unlimited implements Admission {
        static final Unlimited ADMITTED = new Unlimited();

        private Unlimited() {
        }

        @Override
        public boolean admitted() {
            return true;
        }

        @Override
        public io.courier.transport.proto.Error refusal() {
            return null;
        }

        @Override
        public void opened() {
        }

        @Override
        public void authenticated() {
        }

        @Override
        public void release() {
        }
    }
}
