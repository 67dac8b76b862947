package io.courier.bench.mailbox;

import java.util.Queue;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A session mailbox under load: producers offer (the writer thread, or several), one consumer
 * drains (the connection's I/O thread). Agrona's {@code ManyToOneConcurrentArrayQueue}, which the
 * router uses, against the JDK's {@code ArrayBlockingQueue} and {@code ConcurrentLinkedQueue}
 * (unbounded: it never refuses, which is what a bounded mailbox must not imitate). Counts only
 * successful offers and polls, as JCTools' benchmarks do, so a full or empty queue is not
 * mistaken for work.
 */
@State(Scope.Group)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class MailboxOfferDrainBenchmark {

    private static final Integer MESSAGE = 42;

    @Param({"agrona", "array-blocking", "concurrent-linked"})
    public String queue;

    @Param({"128"})
    public int capacity;

    private Queue<Integer> mailbox;

    @Setup(Level.Trial)
    public void create() {
        mailbox = switch (queue) {
            case "agrona" -> new ManyToOneConcurrentArrayQueue<>(capacity);
            case "array-blocking" -> new ArrayBlockingQueue<>(capacity);
            case "concurrent-linked" -> new ConcurrentLinkedQueue<>();
            default -> throw new IllegalArgumentException("queue must be agrona, array-blocking or concurrent-linked");
        };
    }

    /** Successful operations per thread, reported beside the raw invocation rate. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Counters {
        public long offered;
        public long offerFailed;
        public long polled;
        public long pollEmpty;
    }

    @Benchmark
    @Group("oneProducer")
    @GroupThreads(1)
    public void offerOne(Counters counters) {
        offer(counters);
    }

    @Benchmark
    @Group("oneProducer")
    @GroupThreads(1)
    public void drainOne(Counters counters) {
        poll(counters);
    }

    @Benchmark
    @Group("threeProducers")
    @GroupThreads(3)
    public void offerThree(Counters counters) {
        offer(counters);
    }

    @Benchmark
    @Group("threeProducers")
    @GroupThreads(1)
    public void drainThree(Counters counters) {
        poll(counters);
    }

    private void offer(Counters counters) {
        // The unbounded queue is held to the same capacity, as a mailbox must be.
        if ((queue.equals("concurrent-linked") && mailbox.size() >= capacity) || !mailbox.offer(MESSAGE)) {
            counters.offerFailed++;
        } else {
            counters.offered++;
        }
    }

    private void poll(Counters counters) {
        if (mailbox.poll() == null) {
            counters.pollEmpty++;
        } else {
            counters.polled++;
        }
    }
}
