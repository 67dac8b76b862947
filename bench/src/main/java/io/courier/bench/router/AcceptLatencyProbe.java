package io.courier.bench.router;

import com.google.protobuf.ByteString;
import io.courier.router.Router;
import io.courier.router.RouterConfig;
import io.courier.router.auth.InsecureAuthenticator;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.StorageProviders;
import io.courier.transport.Connection;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Send;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * Time to single tick through the real router and a real store, open loop: sends are scheduled at
 * a fixed rate and latency is measured from each send's scheduled time (so a stall is charged to
 * every send it delays, not hidden — no coordinated omission). Connections are in-process, so the
 * number is router + storage, without the network.
 *
 * <pre>
 *   java -cp bench/target/courier-bench.jar io.courier.bench.router.AcceptLatencyProbe \
 *       BACKEND RATE_PER_SECOND SECONDS [key=value storage options...]
 *   e.g. ... AcceptLatencyProbe rocksdb 10000 10 sync=true
 * </pre>
 */
public final class AcceptLatencyProbe {

    private static final int CONNECTIONS = 8;
    private static final int RECIPIENTS = 1_000;

    private AcceptLatencyProbe() {
    }

    public static void main(String[] args) throws Exception {
        String backend = args.length > 0 ? args[0] : "rocksdb";
        int rate = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        Map<String, String> options = new HashMap<>();
        for (int i = 3; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            options.put(kv[0], kv[1]);
        }
        Path dir = Files.createTempDirectory("courier-probe");
        int warmupSends = rate * 2;
        int measuredSends = rate * seconds;
        int total = warmupSends + measuredSends;
        long[] scheduled = new long[total];
        Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        CountDownLatch done = new CountDownLatch(total);
        AtomicLong errors = new AtomicLong();

        try (StorageBackend store = StorageProviders.find(backend).open(new StorageConfig(dir, options))) {
            // Each connection sends thousands a second: no rate limit, as in a benchmark server.
            Router router = new Router(RouterConfig.builder().framesPerSecond(Integer.MAX_VALUE)
                .frameBurst(Integer.MAX_VALUE).bytesPerSecond(Integer.MAX_VALUE).byteBurst(Integer.MAX_VALUE).build(),
                store, new InsecureAuthenticator(),
                new SimpleMeterRegistry(), Clock.systemUTC()).start();
            InProcessConnection[] connections = new InProcessConnection[CONNECTIONS];
            for (int c = 0; c < CONNECTIONS; c++) {
                connections[c] = new InProcessConnection(c, router, frame -> {
                    if (frame.hasAccepted()) {
                        int k = Integer.parseInt(frame.getAccepted().getClientMessageId());
                        if (k >= warmupSends) {
                            synchronized (histogram) {
                                histogram.recordValue(Math.max(0, System.nanoTime() - scheduled[k]));
                            }
                        }
                        done.countDown();
                    } else if (frame.hasError()) {
                        errors.incrementAndGet();
                        done.countDown();
                    }
                });
                connections[c].hello("sender" + c);
            }
            byte[] payload = new byte[100];
            long interval = TimeUnit.SECONDS.toNanos(1) / rate;
            long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
            for (int k = 0; k < total; k++) {
                long at = start + k * interval;
                long wait;
                while ((wait = at - System.nanoTime()) > 0) {
                    LockSupport.parkNanos(Math.min(wait, 50_000));
                }
                scheduled[k] = at;
                Frame send = Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId(Integer.toString(k))
                    .setRecipient("user" + (k % RECIPIENTS)).setPayload(ByteString.copyFrom(payload))).build();
                connections[k % CONNECTIONS].receive(send);
            }
            if (!done.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("Not every send was answered within 60 s");
            }
            router.close();
            for (InProcessConnection c : connections) {
                c.shutdown();
            }
        }
        System.out.printf("backend=%s options=%s rate=%d/s measured=%d sends over %d s, errors=%d%n",
            backend, options, rate, measuredSends, seconds, errors.get());
        System.out.printf("time to accepted (ms): p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f%n",
            ms(histogram.getValueAtPercentile(50)), ms(histogram.getValueAtPercentile(90)),
            ms(histogram.getValueAtPercentile(99)), ms(histogram.getValueAtPercentile(99.9)), ms(histogram.getMaxValue()));
    }

    private static double ms(long nanos) {
        return nanos / 1_000_000.0;
    }
}
