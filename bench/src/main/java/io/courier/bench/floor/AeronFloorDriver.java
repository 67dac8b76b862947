package io.courier.bench.floor;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.SleepingMillisIdleStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the Aeron floors run Aeron, in one place: an embedded media driver in SHARED threading mode
 * (one thread for conductor, sender and receiver), in a fresh directory of its own that it deletes
 * when it closes, and idle strategies that give the CPU back. The box has 2 cores shared by the
 * server, load and coordinator processes, so nothing here busy-spins for ever: message-path threads
 * spin briefly, yield, then park ({@link BackoffIdleStrategy}); client conductors, which only keep
 * registrations alive, sleep.
 *
 * <p>The one setting: system property {@value #MAX_PARK_PROPERTY}, the longest park of a
 * message-path thread in microseconds (default {@value #DEFAULT_MAX_PARK_MICROS}). Lower buys
 * latency with CPU; on Linux a park shorter than about 50 µs (the timer slack) still takes ~50 µs.
 */
final class AeronFloorDriver {

    /** System property: the message-path threads' longest park, in microseconds. */
    static final String MAX_PARK_PROPERTY = "courier.floor.maxParkMicros";
    /** An idle relay costs ~10,000 wake-ups a second per thread; a message waits at most this long. */
    static final long DEFAULT_MAX_PARK_MICROS = 100;

    /**
     * A client conductor only keeps registrations alive and notices new images; nothing on the
     * message path waits for it. Aeron's own default.
     */
    private static final long CLIENT_CONDUCTOR_SLEEP_MS = 16;

    private static final Logger LOG = LoggerFactory.getLogger(AeronFloorDriver.class);

    /** Spins and yields before parking: a few µs of polling while a reply may be on its way. */
    private static final long MAX_SPINS = 100;
    private static final long MAX_YIELDS = 10;
    private static final long MIN_PARK_NANOS = TimeUnit.MICROSECONDS.toNanos(1);

    /**
     * Small terms: floors carry 100-byte messages at a few thousand a second, and every pair's
     * publication maps three terms (Aeron's defaults are 16 MiB for UDP and 64 MiB for IPC).
     */
    private static final int TERM_LENGTH = 1024 * 1024;

    private AeronFloorDriver() {
    }

    /** Launches a SHARED media driver in a new directory named after {@code role}. */
    static MediaDriver launch(String role) {
        String directory = newDirectory(role);
        MediaDriver.Context context = new MediaDriver.Context()
            .aeronDirectoryName(directory)
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true)
            .warnIfDirectoryExists(false)
            .threadingMode(ThreadingMode.SHARED)
            .sharedIdleStrategy(messagePathIdle())
            .ipcTermBufferLength(TERM_LENGTH)
            .publicationTermBufferLength(TERM_LENGTH)
            .errorHandler(error -> LOG.error("Aeron media driver in {} failed", directory, error));
        return MediaDriver.launch(context);
    }

    /** A client of the media driver in {@code directory}. */
    static Aeron connect(String directory, String role) {
        return Aeron.connect(new Aeron.Context()
            .aeronDirectoryName(directory)
            .clientName("courier-floor-" + role)
            .idleStrategy(new SleepingMillisIdleStrategy(CLIENT_CONDUCTOR_SLEEP_MS))
            .errorHandler(error -> LOG.error("Aeron client {} of the driver in {} failed", role, directory, error)));
    }

    /** For the relay, the pollers and the driver: spin, yield, then park up to the configured time. */
    static IdleStrategy messagePathIdle() {
        return new BackoffIdleStrategy(MAX_SPINS, MAX_YIELDS, MIN_PARK_NANOS,
            TimeUnit.MICROSECONDS.toNanos(maxParkMicros()));
    }

    static long maxParkMicros() {
        String value = System.getProperty(MAX_PARK_PROPERTY, Long.toString(DEFAULT_MAX_PARK_MICROS));
        try {
            long micros = Long.parseLong(value);
            if (micros >= 1) {
                return micros;
            }
        } catch (NumberFormatException e) {
            // fall through to the error below
        }
        throw new IllegalArgumentException("System property " + MAX_PARK_PROPERTY
            + " must be a positive number of microseconds, was '" + value + "'");
    }

    /** Under /dev/shm when there is one (Aeron's own choice on Linux), else the temp directory. */
    private static String newDirectory(String role) {
        Path shm = Path.of("/dev/shm");
        Path base = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
        return base.resolve("courier-floor-" + role + "-" + ProcessHandle.current().pid() + "-"
            + UUID.randomUUID().toString().substring(0, 8)).toString();
    }
}
