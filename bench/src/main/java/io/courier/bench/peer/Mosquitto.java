package io.courier.bench.peer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

/**
 * A mosquitto broker run as a child process on loopback, for the tests and for the benchmark
 * coordinator: it writes a configuration with the settings of {@code bench/mosquitto.conf} (see
 * {@link #settings}) and the chosen port, starts {@code mosquitto -c} on it, and returns once the
 * broker accepts TCP connections. Closing stops the broker (SIGTERM, then SIGKILL) and deletes the
 * configuration and log. A JVM that exits without closing still stops it, through a shutdown hook.
 */
public final class Mosquitto implements AutoCloseable {

    /** Where Debian's package puts the broker (not on a normal user's PATH), then Homebrew's and a source build's. */
    private static final List<Path> KNOWN_LOCATIONS = List.of(
        Path.of("/usr/sbin/mosquitto"), Path.of("/usr/local/sbin/mosquitto"), Path.of("/opt/homebrew/sbin/mosquitto"));
    private static final String LOOPBACK = "127.0.0.1";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(5);
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /** A free port can be taken by someone else before mosquitto binds it; then pick another. */
    private static final int FREE_PORT_ATTEMPTS = 3;

    private final Process process;
    private final int port;
    private final Path directory;
    private final Thread stopOnExit;

    private Mosquitto(Process process, int port, Path directory) {
        this.process = process;
        this.port = port;
        this.directory = directory;
        this.stopOnExit = new Thread(this::stop, "mosquitto-" + port + "-stop");
        Runtime.getRuntime().addShutdownHook(stopOnExit);
    }

    /**
     * Starts mosquitto on a free loopback port. Blocks until it accepts connections.
     *
     * @throws IllegalStateException when mosquitto is not installed (saying how to install it),
     *     exits early (with its log), or does not accept connections within 10 seconds.
     */
    public static Mosquitto start() {
        IllegalStateException last = null;
        for (int attempt = 0; attempt < FREE_PORT_ATTEMPTS; attempt++) {
            try {
                return start(freePort());
            } catch (PortTakenException e) {
                last = e;
            }
        }
        throw last;
    }

    /**
     * Starts mosquitto on loopback port {@code port}. Blocks until it accepts connections.
     *
     * @throws IllegalStateException as {@link #start()}, or when the port is taken.
     */
    public static Mosquitto start(int port) {
        Path executable = executable();
        Path directory = null;
        try {
            directory = Files.createTempDirectory("courier-mosquitto-");
            Path config = directory.resolve("mosquitto.conf");
            Files.writeString(config, String.join("\n", settings(port)) + "\n", StandardCharsets.UTF_8);
            Path log = directory.resolve("mosquitto.log");
            Process process = new ProcessBuilder(executable.toString(), "-c", config.toString())
                .redirectErrorStream(true)
                // To a file, not a pipe: a pipe nobody reads would stall the broker once full.
                .redirectOutput(log.toFile())
                .start();
            Mosquitto broker = new Mosquitto(process, port, directory);
            try {
                broker.awaitAccepting();
            } catch (RuntimeException e) {
                broker.close();
                throw e;
            }
            return broker;
        } catch (IOException e) {
            deleteQuietly(directory);
            throw new UncheckedIOException("Cannot start " + executable + " on " + LOOPBACK + ":" + port, e);
        }
    }

    /**
     * The broker's settings for {@code port}: those of {@code bench/mosquitto.conf}, whose comments
     * say why each is there. Keep the two in step.
     */
    public static List<String> settings(int port) {
        return List.of(
            "listener " + port + " " + LOOPBACK,
            "allow_anonymous true",
            "set_tcp_nodelay true",
            "persistence false",
            "max_inflight_messages 0",
            "max_queued_messages 128",
            "max_queued_bytes 0",
            "sys_interval 0",
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "connection_messages false");
    }

    /**
     * The mosquitto executable: a known location, else the first on {@code PATH}.
     *
     * @throws IllegalStateException when there is none, saying how to install it.
     */
    public static Path executable() {
        List<Path> candidates = new ArrayList<>(KNOWN_LOCATIONS);
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(java.io.File.pathSeparator)) {
                if (!dir.isEmpty()) {
                    candidates.add(Path.of(dir, "mosquitto"));
                }
            }
        }
        return candidates.stream().filter(Files::isExecutable).findFirst().orElseThrow(() -> new IllegalStateException(
            "mosquitto is not installed: not found in " + KNOWN_LOCATIONS + " nor on PATH. Install it with "
                + "'apt-get install mosquitto' (Debian, Ubuntu; the benchmarks use 2.0.11) or 'brew install mosquitto' (macOS)"));
    }

    /** {@code mqtt://127.0.0.1:<port>}, for {@link MqttTarget#open}. */
    public String address() {
        return "mqtt://" + LOOPBACK + ":" + port;
    }

    /** The loopback port the broker listens on. */
    public int port() {
        return port;
    }

    /** The broker's process id, for the coordinator's CPU and memory sampling. */
    public long pid() {
        return process.pid();
    }

    /** The broker's log file (errors, warnings, notices such as dropped messages), deleted on close. */
    public Path log() {
        return directory.resolve("mosquitto.log");
    }

    /** Stops the broker and deletes its files. Blocks for at most about 5 seconds. */
    @Override
    public void close() {
        stop();
        try {
            Runtime.getRuntime().removeShutdownHook(stopOnExit);
        } catch (IllegalStateException e) {
            // The JVM is already exiting: the hook runs stop() again, which is harmless.
        }
    }

    private void stop() {
        process.destroy();
        try {
            if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        deleteQuietly(directory);
    }

    /** Polls a TCP connect until one succeeds, the process exits, or the start timeout passes. */
    private void awaitAccepting() {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            if (!process.isAlive()) {
                String message = "mosquitto exited with " + process.exitValue() + " before accepting connections on "
                    + LOOPBACK + ":" + port + "; its log: " + logText();
                throw logText().contains("Address already in use") ? new PortTakenException(message)
                    : new IllegalStateException(message);
            }
            try (Socket probe = new Socket()) {
                probe.connect(new InetSocketAddress(LOOPBACK, port), 100);
                return;
            } catch (IOException notYet) {
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException("mosquitto did not accept connections on " + LOOPBACK + ":" + port
                        + " within " + START_TIMEOUT.toSeconds() + " s; its log: " + logText(), notYet);
                }
                LockSupport.parkNanos(POLL_NANOS);
            }
        }
    }

    private String logText() {
        try {
            return Files.readString(log(), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(LOOPBACK))) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("No free port on " + LOOPBACK, e);
        }
    }

    private static void deleteQuietly(Path directory) {
        if (directory == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(directory)) {
            files.sorted(Comparator.reverseOrder()).forEach(file -> file.toFile().delete());
        } catch (IOException e) {
            // A temp directory left behind is not worth failing a run for.
        }
    }

    /** mosquitto could not bind the port: {@link #start()} tries another. */
    private static final class PortTakenException extends IllegalStateException {
        PortTakenException(String message) {
            super(message);
        }
    }
}
