package io.courier.bench.fleet;

import io.aeron.Aeron;
import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.SleepingMillisIdleStrategy;

/**
 * The coordinator's end of the reports channel: an embedded Aeron media driver (SHARED threading,
 * sleeping when idle so it leaves the cores to the system being measured) and a subscription on
 * {@code aeron:ipc}. Load-generator processes connect to this driver's directory as Aeron clients
 * and publish their progress and their histograms to it ({@link Reporter}).
 */
public final class ReportHub implements AutoCloseable {

    /** The IPC stream every report travels on. */
    static final String CHANNEL = "aeron:ipc";
    static final int STREAM = 7001;

    private final MediaDriver driver;
    private final Aeron aeron;
    private final Subscription subscription;
    private final BlockingQueue<JsonObject> inbox = new LinkedBlockingQueue<>();
    private final Thread poller;
    private volatile boolean running = true;

    private ReportHub(MediaDriver driver) {
        this.driver = driver;
        this.aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName()));
        this.subscription = aeron.addSubscription(CHANNEL, STREAM);
        FragmentAssembler assembler = new FragmentAssembler((buffer, offset, length, header) ->
            inbox.add(new JsonObject(buffer.getStringWithoutLengthUtf8(offset, length))));
        this.poller = new Thread(() -> {
            SleepingMillisIdleStrategy idle = new SleepingMillisIdleStrategy(1);
            while (running) {
                idle.idle(subscription.poll(assembler, 16));
            }
        }, "bench-report-hub");
        poller.setDaemon(true);
        poller.start();
    }

    /** Starts a media driver in a fresh directory (under /dev/shm when there is one). */
    public static ReportHub start() {
        Path shm = Path.of("/dev/shm");
        String dir = (Files.isDirectory(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir")))
            .resolve("courier-bench-" + ProcessHandle.current().pid() + "-" + System.nanoTime()).toString();
        MediaDriver driver = MediaDriver.launchEmbedded(new MediaDriver.Context()
            .aeronDirectoryName(dir)
            .threadingMode(ThreadingMode.SHARED)
            .sharedIdleStrategy(new SleepingMillisIdleStrategy(1))
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true)
            .ipcTermBufferLength(16 * 1024 * 1024));
        return new ReportHub(driver);
    }

    /** The driver directory that load generators connect to. */
    public String directory() {
        return driver.aeronDirectoryName();
    }

    /** The next report, or null after {@code timeoutNanos}. */
    public JsonObject poll(long timeoutNanos) throws InterruptedException {
        return inbox.poll(timeoutNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void close() {
        running = false;
        try {
            poller.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        aeron.close();
        driver.close();
    }

    static byte[] encode(JsonObject message) {
        return message.encode().getBytes(StandardCharsets.UTF_8);
    }
}
