package io.courier.bench.router;

import com.google.protobuf.ByteString;
import io.courier.router.Router;
import io.courier.router.RouterConfig;
import io.courier.router.auth.InsecureAuthenticator;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.StorageProviders;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Send;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The router's route path with the in-memory store: a send enters on the sender's I/O thread,
 * is group-committed by the storage writer, answered with a single tick and offered to the online
 * recipient's mailbox, which its I/O thread drains into a deliver. Each invocation sends 1,000
 * messages and waits for every delivery, so the score is end-to-end messages per second through
 * the router, without the network.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx2g"})
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
public class RouterRouteBenchmark {

    private static final int BATCH = 1_000;

    private StorageBackend store;
    private Router router;
    private InProcessConnection alice;
    private InProcessConnection bob;
    private final Semaphore delivered = new Semaphore(0);
    private final AtomicLong ids = new AtomicLong();
    private Frame[] sends;

    @Setup(Level.Trial)
    public void start() throws Exception {
        store = StorageProviders.find("memory").open(new StorageConfig(Path.of("unused"), Map.of()));
        // One connection sends as fast as the router takes: no rate limit, as in a benchmark server.
        router = new Router(RouterConfig.builder().mailboxCapacity(1024).framesPerSecond(Integer.MAX_VALUE)
            .frameBurst(Integer.MAX_VALUE).bytesPerSecond(Integer.MAX_VALUE).byteBurst(Integer.MAX_VALUE).build(), store,
            new InsecureAuthenticator(),
            new SimpleMeterRegistry(), Clock.systemUTC()).start();
        alice = new InProcessConnection(1, router, frame -> { });
        bob = new InProcessConnection(2, router, frame -> {
            if (frame.hasDeliver()) {
                bobAcks(frame.getDeliver().getServerMessageId());
                delivered.release();
            }
        });
        alice.hello("alice");
        bob.hello("bob");
        ByteString payload = ByteString.copyFrom(new byte[100]);
        sends = new Frame[BATCH];
        for (int i = 0; i < BATCH; i++) {
            sends[i] = Frame.newBuilder().setSend(Send.newBuilder().setRecipient("bob").setPayload(payload)
                .setClientMessageId("placeholder")).build();
        }
    }

    /** Bob acknowledges, as a device does, so inboxes stay small and receipts flow back. */
    private void bobAcks(long serverId) {
        bob.receive(Frame.newBuilder().setDeliveryAck(io.courier.transport.proto.DeliveryAck.newBuilder()
            .addServerMessageIds(serverId)).build());
    }

    @TearDown(Level.Trial)
    public void stop() throws Exception {
        alice.shutdown();
        bob.shutdown();
        router.close();
        store.close();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void routeToOnlineRecipient() throws InterruptedException {
        for (Frame template : sends) {
            // A fresh client id each time: de-duplication must not short-circuit the path.
            alice.receive(template.toBuilder().setSend(template.getSend().toBuilder()
                .setClientMessageId(Long.toString(ids.incrementAndGet()))).build());
        }
        if (!delivered.tryAcquire(BATCH, 60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("Deliveries stalled");
        }
    }
}
