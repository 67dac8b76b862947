package io.courier.bench.storage;

import io.courier.storage.DeviceId;
import io.courier.storage.MessageKind;
import io.courier.storage.StorageBackend;
import io.courier.storage.StoredMessage;
import io.courier.storage.WriteBatch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Offline drain and acknowledgement: read a page of 64 pending messages from an inbox, then commit
 * their acknowledgement (mark delivered) as one batch — what a reconnecting device costs storage.
 * Each invocation refills the page it consumed so the inbox never runs dry. Score: pages per
 * millisecond; messages are 64 times that.
 */
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx2g"})
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
public class StorageDrainBenchmark {

    private static final int PAGE = 64;
    private static final DeviceId OWNER = DeviceId.primary("reader");
    private static final DeviceId SENDER = DeviceId.primary("sender");
    private static final byte[] PAYLOAD = new byte[100];

    @Param({"rocksdb-buffered", "rocksdb-fsync", "postgres"})
    public String backend;

    private Path dir;
    private StorageBackend store;
    private long nextId;
    private final WriteBatch writes = new WriteBatch();

    @Setup(Level.Trial)
    public void open() throws IOException {
        dir = Files.createTempDirectory("courier-bench");
        store = Backends.open(backend, dir);
        nextId = store.messages().highestServerId();
        refill(PAGE * 4);
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        store.close();
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private void refill(int count) {
        writes.clear();
        for (int i = 0; i < count; i++) {
            long id = ++nextId;
            writes.append(OWNER, new StoredMessage(id, MessageKind.MESSAGE, SENDER, OWNER.user(), Long.toString(id), 0, id,
                "text/plain", PAYLOAD, null));
        }
        store.messages().commit(writes);
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public int drainAndAcknowledgePage() {
        List<StoredMessage> page = store.messages().pending(OWNER, 0, PAGE);
        writes.clear();
        for (StoredMessage m : page) {
            writes.markDelivered(OWNER, m.serverId(), m.timestampMs());
        }
        store.messages().commit(writes);
        refill(page.size());
        return page.size();
    }
}
