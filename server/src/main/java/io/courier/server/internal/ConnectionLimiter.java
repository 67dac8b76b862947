package io.courier.server.internal;

import io.courier.transport.ConnectionGate;
import io.courier.transport.Frames;
import io.courier.transport.proto.Error;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's {@link ConnectionGate}: one count of the connections all transports hold, a global
 * limit ({@code limits.max-connections}) and a limit per source address
 * ({@code limits.max-connections-per-address}; an IPv6 address counts by its /64, the block one
 * host is given).
 *
 * <p>A newcomer at a full limit is not refused while the server holds a connection that has not
 * authenticated: the oldest such connection (of the same address, for the per-address limit) is
 * evicted with {@code TOO_MANY_CONNECTIONS} and the newcomer takes its place. So a flood of
 * silent connections only ever pushes out other silent connections, oldest first, and a real
 * client, which says hello at once, always gets in. Authenticated connections are never evicted;
 * when every connection is authenticated the newcomer is refused.
 *
 * <p>A refused or evicted connection lingers while its client reads why (up to the transport's
 * linger time, 2 s for TCP): at most {@code lingerAllowance} of them at once; past that the oldest
 * is closed at once, so a flood faster than the linger cannot run the process out of file
 * descriptors. What the gate admitted but the router never heard of within the router's hello
 * timeout (a WebSocket that never upgrades, a transport's pre-connection phase) is evicted with
 * {@code NOT_AUTHENTICATED}; once the router knows a connection, its hello timeout is the router's.
 *
 * <p>One lock guards the counts: it is taken once per connection opened, authenticated and
 * closed, never per frame. Callbacks into transports run outside it.
 */
public final class ConnectionLimiter implements ConnectionGate, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionLimiter.class);

    /** Reasons, as metric tags. */
    static final String GLOBAL = "max-connections";
    static final String PER_ADDRESS = "max-connections-per-address";
    static final String NO_HELLO = "no-hello";

    private final int maxConnections;
    private final int maxPerAddress;
    private final int lingerAllowance;
    private final long noHelloNanos;
    private final LongSupplier nanoClock;
    private final MeterRegistry registry;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer;

    // Guarded by this.
    private final LinkedHashSet<Place> unauthenticated = new LinkedHashSet<>();
    private final LinkedHashSet<Place> lingering = new LinkedHashSet<>();
    private final LinkedHashSet<Place> unopened = new LinkedHashSet<>();
    private final Map<Object, Source> sources = new HashMap<>();
    private int live;
    private int held;

    /**
     * @param maxConnections  connections held at once, every transport together.
     * @param maxPerAddress   of those, from one source address.
     * @param lingerAllowance refused and evicted connections allowed to linger at once.
     * @param helloTimeoutMs  the router's hello timeout, which the gate applies to what the router does not know.
     * @param registry        where the gate's meters go.
     */
    public ConnectionLimiter(int maxConnections, int maxPerAddress, int lingerAllowance, long helloTimeoutMs,
                             MeterRegistry registry) {
        this(maxConnections, maxPerAddress, lingerAllowance, helloTimeoutMs, registry, System::nanoTime, true);
    }

    ConnectionLimiter(int maxConnections, int maxPerAddress, int lingerAllowance, long helloTimeoutMs,
                      MeterRegistry registry, LongSupplier nanoClock, boolean sweep) {
        this.maxConnections = maxConnections;
        this.maxPerAddress = maxPerAddress;
        this.lingerAllowance = lingerAllowance;
        this.noHelloNanos = TimeUnit.MILLISECONDS.toNanos(helloTimeoutMs);
        this.nanoClock = nanoClock;
        this.registry = registry;
        Gauge.builder("courier.admitted.connections", this, ConnectionLimiter::held)
            .description("Connections the limits count, every transport together (lingering ones too)")
            .register(registry);
        Gauge.builder("courier.connection.limit", this, l -> l.maxConnections)
            .description("limits.max-connections").register(registry);
        if (sweep) {
            timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
                Thread thread = new Thread(runnable, "courier-admission");
                thread.setDaemon(true);
                return thread;
            });
            timer.scheduleWithFixedDelay(this::sweepSafely, 1, 1, TimeUnit.SECONDS);
        } else {
            timer = null;
        }
    }

    /** Places held: admitted or refused connections not released yet. */
    public synchronized int held() {
        return held;
    }

    @Override
    public Admission admit(InetAddress source, String transport, Evictable evictable) {
        List<Runnable> callbacks = new ArrayList<>(2);
        Place place;
        synchronized (this) {
            Source from = sources.computeIfAbsent(key(source), k -> new Source(source));
            place = new Place(from, transport, evictable, nanoClock.getAsLong());
            held++;
            from.held++;
            Error refusal = null;
            if (from.live >= maxPerAddress) {
                Place victim = from.unauthenticated.isEmpty() ? null : from.unauthenticated.iterator().next();
                if (victim == null) {
                    refusal = Frames.errorBody(Error.Code.TOO_MANY_CONNECTIONS, "Address " + from.shown
                        + " holds its maximum of " + maxPerAddress + " connections (limits.max-connections-per-address); "
                        + "close one, or try again later", true);
                    count("refused", PER_ADDRESS, transport);
                } else {
                    evict(victim, PER_ADDRESS, Error.Code.TOO_MANY_CONNECTIONS, "Closed to make room for a new connection: "
                        + "address " + from.shown + " holds its maximum of " + maxPerAddress
                        + " connections (limits.max-connections-per-address) and this one had not said hello", callbacks);
                }
            }
            if (refusal == null && live >= maxConnections) {
                Place victim = unauthenticated.isEmpty() ? null : unauthenticated.iterator().next();
                if (victim == null) {
                    refusal = Frames.errorBody(Error.Code.TOO_MANY_CONNECTIONS, "The server holds its maximum of "
                        + maxConnections + " connections (limits.max-connections), all of them signed in; "
                        + "try again later", true);
                    count("refused", GLOBAL, transport);
                } else {
                    evict(victim, GLOBAL, Error.Code.TOO_MANY_CONNECTIONS, "Closed to make room for a new connection: the "
                        + "server holds its maximum of " + maxConnections
                        + " connections (limits.max-connections) and this one had not said hello", callbacks);
                }
            }
            if (refusal == null) {
                live++;
                from.live++;
                unauthenticated.add(place);
                from.unauthenticated.add(place);
                unopened.add(place);
            } else {
                place.refusal = refusal;
                place.closing = true;
                lingering.add(place);
            }
            trimLingering(callbacks);
        }
        callbacks.forEach(ConnectionLimiter::runSafely);
        return place;
    }

    /** Called with the lock held: the victim leaves the live count now and lingers until released. */
    private void evict(Place victim, String reason, Error.Code code, String text, List<Runnable> callbacks) {
        leaveLive(victim);
        victim.closing = true;
        lingering.add(victim);
        count("evicted", reason, victim.transport);
        Error error = Frames.errorBody(code, text, true);
        callbacks.add(() -> victim.evictable.evict(error));
    }

    private void trimLingering(List<Runnable> callbacks) {
        Iterator<Place> oldest = lingering.iterator();
        while (lingering.size() > lingerAllowance && oldest.hasNext()) {
            Place place = oldest.next();
            oldest.remove();
            counter("courier.connections.aborted", "reason", "linger-allowance", "transport", place.transport).increment();
            callbacks.add(place.evictable::abort);
        }
    }

    private void leaveLive(Place place) {
        unopened.remove(place);
        live--;
        place.source.live--;
        unauthenticated.remove(place);
        place.source.unauthenticated.remove(place);
    }

    /** Evicts what the router has not heard of within its hello timeout. Runs every second on the gate's timer. */
    void sweep() {
        List<Runnable> callbacks = new ArrayList<>();
        synchronized (this) {
            long cutoff = nanoClock.getAsLong() - noHelloNanos;
            Iterator<Place> oldest = unopened.iterator();
            while (oldest.hasNext()) {
                Place place = oldest.next();
                if (place.admittedAt - cutoff > 0) {
                    break;
                }
                evict(place, NO_HELLO, Error.Code.NOT_AUTHENTICATED, "No hello within "
                    + TimeUnit.NANOSECONDS.toMillis(noHelloNanos) + " ms of connecting", callbacks);
                // evict() removed it from the set this iterator walks.
                oldest = unopened.iterator();
            }
            trimLingering(callbacks);
        }
        callbacks.forEach(ConnectionLimiter::runSafely);
    }

    private void sweepSafely() {
        try {
            sweep();
        } catch (RuntimeException e) {
            LOG.error("Admission sweep failed; will retry", e);
        }
    }

    private static void runSafely(Runnable callback) {
        try {
            callback.run();
        } catch (RuntimeException e) {
            // A transport failing to close one connection must not stop the others from being admitted.
            LOG.warn("A transport failed to close a connection for the admission gate", e);
        }
    }

    private synchronized void opened(Place place) {
        unopened.remove(place);
    }

    private synchronized void authenticated(Place place) {
        if (!place.closing && !place.released && !place.authenticated) {
            place.authenticated = true;
            unauthenticated.remove(place);
            place.source.unauthenticated.remove(place);
        }
    }

    private synchronized void release(Place place) {
        if (place.released) {
            return;
        }
        place.released = true;
        held--;
        if (place.closing) {
            lingering.remove(place);
        } else {
            leaveLive(place);
        }
        if (--place.source.held == 0) {
            sources.remove(key(place.source.address));
        }
    }

    private void count(String what, String reason, String transport) {
        counter("courier.connections." + what, "reason", reason, "transport", transport).increment();
    }

    private Counter counter(String name, String k1, String v1, String k2, String v2) {
        return counters.computeIfAbsent(name + '|' + v1 + '|' + v2, k -> Counter.builder(name).tag(k1, v1).tag(k2, v2)
            .description(switch (name) {
                case "courier.connections.refused" -> "New connections refused by a connection limit";
                case "courier.connections.evicted" -> "Connections that had not said hello, closed to make room or for no hello in time";
                default -> "Refused or evicted connections closed at once because too many were lingering";
            }).register(registry));
    }

    /** An address's key: itself for IPv4, its /64 for IPv6 (one host is given a whole /64). */
    private static Object key(InetAddress address) {
        if (address instanceof Inet6Address) {
            return ByteBuffer.wrap(address.getAddress()).getLong();
        }
        return address == null ? "unknown" : address;
    }

    @Override
    public void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
    }

    /** One source address's share. Guarded by the limiter. */
    private static final class Source {
        final InetAddress address;
        final String shown;
        final LinkedHashSet<Place> unauthenticated = new LinkedHashSet<>();
        int live;
        int held;

        Source(InetAddress address) {
            this.address = address;
            this.shown = address == null ? "(unknown)" : address instanceof Inet6Address
                ? address.getHostAddress() + " (its /64)" : address.getHostAddress();
        }
    }

    /** One connection's place. State guarded by the limiter. */
    private final class Place implements Admission {
        final Source source;
        final String transport;
        final Evictable evictable;
        final long admittedAt;
        Error refusal;
        boolean closing;
        boolean authenticated;
        boolean released;

        Place(Source source, String transport, Evictable evictable, long admittedAt) {
            this.source = source;
            this.transport = transport;
            this.evictable = evictable;
            this.admittedAt = admittedAt;
        }

        @Override
        public boolean admitted() {
            return refusal == null;
        }

        @Override
        public Error refusal() {
            return refusal;
        }

        @Override
        public void opened() {
            ConnectionLimiter.this.opened(this);
        }

        @Override
        public void authenticated() {
            ConnectionLimiter.this.authenticated(this);
        }

        @Override
        public void release() {
            ConnectionLimiter.this.release(this);
        }
    }
}
