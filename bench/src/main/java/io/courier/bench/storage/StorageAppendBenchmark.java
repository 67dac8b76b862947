package io.courier.bench.storage;

import io.courier.storage.AcceptedSend;
import io.courier.storage.DeviceId;
import io.courier.storage.MessageKind;
import io.courier.storage.StorageBackend;
import io.courier.storage.StoredMessage;
import io.courier.storage.WriteBatch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * Accepting sends: what the router's writer does per group commit — for each send, append the
 * message to the recipient's inbox and record the send for de-duplication, then commit the batch.
 * 100-byte payloads spread over 1,000 recipients. The score is messages per second; with
 * {@code batch=16} in {@link Mode#SampleTime} it is the commit latency of a batch the size that
 * 10,000 messages/s produces, the part of time-to-accept that storage owns.
 */
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx2g"})
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
public class StorageAppendBenchmark {

    private static final int RECIPIENTS = 1_000;
    private static final byte[] PAYLOAD = new byte[100];
    private static final DeviceId SENDER = DeviceId.primary("sender");

    @Param({"rocksdb-buffered", "rocksdb-fsync", "postgres"})
    public String backend;

    @Param({"256"})
    public int batch;

    private Path dir;
    private StorageBackend store;
    private DeviceId[] recipients;
    private long nextId;
    private final WriteBatch writes = new WriteBatch();

    @Setup(Level.Trial)
    public void open(BenchmarkParams params) throws IOException {
        dir = Files.createTempDirectory("courier-bench");
        store = Backends.open(backend, dir);
        recipients = new DeviceId[RECIPIENTS];
        for (int i = 0; i < RECIPIENTS; i++) {
            recipients[i] = DeviceId.primary("user" + i);
        }
        nextId = store.messages().highestServerId();
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        store.close();
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** One group commit of {@code batch} accepted sends. Score: batches; multiply by batch. */
    @Benchmark
    @BenchmarkMode({Mode.Throughput, Mode.SampleTime})
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public void acceptBatch() {
        writes.clear();
        for (int i = 0; i < batch; i++) {
            long id = ++nextId;
            DeviceId to = recipients[(int) (id % RECIPIENTS)];
            String clientId = Long.toString(id);
            writes.append(to, new StoredMessage(id, MessageKind.MESSAGE, SENDER, to.user(), clientId, 0, id,
                "text/plain", PAYLOAD, null));
            writes.recordSend(SENDER, clientId, new AcceptedSend(id, id));
        }
        store.messages().commit(writes);
    }
}
