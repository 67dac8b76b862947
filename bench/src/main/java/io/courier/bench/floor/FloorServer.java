package io.courier.bench.floor;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The middle process of a floor run: what Courier's latency is divided by. The load generator's
 * senders and receivers talk through it exactly as they talk through Courier (sender → middle
 * process → receiver, one way), but the middle does the least its transport allows:
 * <ul>
 *   <li>{@code relay}: a raw Netty TCP relay, bytes from one socket to another ({@link RelayServer});
 *   <li>{@code aeron-ipc}: an Aeron relay over shared memory, load processes being clients of its
 *       embedded media driver ({@link AeronRelay});
 *   <li>{@code aeron-udp}: the same relay over UDP loopback, the load process with its own driver.
 * </ul>
 *
 * <pre>
 *   java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -cp bench/target/courier-bench.jar \
 *       io.courier.bench.floor.FloorServer relay|aeron-ipc|aeron-udp [--port PORT]
 * </pre>
 * It prints one line, {@code READY <address>}, once it serves (the address {@code Targets.open}
 * takes), then runs until SIGTERM or until its standard input ends — so it dies with the
 * coordinator that started it, and must be started with stdin open (a pipe, not /dev/null).
 * {@code --port} is the relay's TCP port, or the Aeron UDP ping port (pong is the next one); the
 * default, 0, picks free ones.
 */
public final class FloorServer {

    /** The kinds {@link #start} knows. */
    public static final List<String> KINDS = List.of("relay", "aeron-ipc", "aeron-udp");

    private static final Logger LOG = LoggerFactory.getLogger(FloorServer.class);

    private FloorServer() {
    }

    /** A running floor. Closing it stops every thread it started and deletes its driver directory. */
    public interface Handle extends AutoCloseable {

        /** The address a load generator opens with {@code Targets.open}. */
        String address();

        @Override
        void close();
    }

    /** Starts a floor on free ports. */
    public static Handle start(String kind) {
        return start(kind, 0);
    }

    /**
     * Starts a floor of {@code kind} (one of {@link #KINDS}); returns once it serves.
     *
     * @param port the relay's TCP port or the Aeron UDP ping port; 0 for free ones; unused over IPC.
     * @throws IllegalArgumentException for an unknown kind or a bad port.
     */
    public static Handle start(String kind, int port) {
        if (port < 0 || port > 65534) {
            throw new IllegalArgumentException("--port must be 0..65534, was " + port);
        }
        return switch (kind) {
            case "relay" -> RelayServer.start(port);
            case "aeron-ipc" -> AeronRelay.startIpc();
            case "aeron-udp" -> AeronRelay.startUdp(port);
            default -> throw new IllegalArgumentException("Unknown floor '" + kind + "': use one of " + KINDS);
        };
    }

    public static void main(String[] args) throws InterruptedException {
        String kind = null;
        int port = 0;
        try {
            for (int i = 0; i < args.length; i++) {
                if ("--port".equals(args[i]) && i + 1 < args.length) {
                    port = Integer.parseInt(args[++i]);
                } else if (kind == null && !args[i].startsWith("--")) {
                    kind = args[i];
                } else {
                    throw new IllegalArgumentException("Unexpected argument '" + args[i] + "'");
                }
            }
            if (kind == null) {
                throw new IllegalArgumentException("Missing the floor kind");
            }
            if (!KINDS.contains(kind)) {
                throw new IllegalArgumentException("Unknown floor '" + kind + "'");
            }
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage() + "\nUsage: FloorServer " + String.join("|", KINDS) + " [--port PORT]");
            System.exit(2);
            return;
        }
        Handle handle;
        try {
            handle = start(kind, port);
        } catch (RuntimeException e) {
            LOG.error("Floor {} could not start", kind, e);
            System.exit(1);
            return;
        }
        OnceClosing closing = new OnceClosing(handle);
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.countDown();
            closing.close();
        }, "floor-shutdown"));
        Thread watcher = new Thread(() -> {
            awaitEndOfInput(System.in);
            stop.countDown();
        }, "floor-stdin-watcher");
        watcher.setDaemon(true);
        watcher.start();
        System.out.println("READY " + handle.address());
        System.out.flush();
        stop.await();
        closing.close();
        LOG.info("Floor {} at {} stopped", kind, handle.address());
        // Aeron's agent threads are not daemons; exit even if one lingers.
        System.exit(0);
    }

    private static void awaitEndOfInput(InputStream in) {
        byte[] discard = new byte[256];
        try {
            while (in.read(discard) >= 0) {
                // Input is not a command channel: only its end matters.
            }
        } catch (IOException e) {
            LOG.warn("Reading standard input failed; stopping as if it had ended", e);
        }
    }

    /** Closes the handle once, whoever asks first: the shutdown hook or the end of input. */
    private static final class OnceClosing {

        private final Handle handle;
        private boolean closed;

        OnceClosing(Handle handle) {
            this.handle = handle;
        }

        synchronized void close() {
            if (!closed) {
                closed = true;
                handle.close();
            }
        }
    }
}
