package io.courier.bench.floor;

import io.courier.bench.load.LoadSink;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/** Remembers every scheduled time received, counts repeats and acknowledgements, keeps failures. */
final class CountingSink implements LoadSink {

    final Set<Long> received = ConcurrentHashMap.newKeySet();
    final AtomicInteger receipts = new AtomicInteger();
    final AtomicInteger accepted = new AtomicInteger();
    final Queue<String> failures = new ConcurrentLinkedQueue<>();
    final CountDownLatch all;

    CountingSink(int expected) {
        this.all = new CountDownLatch(expected);
    }

    @Override
    public void accepted(long scheduledNanos) {
        accepted.incrementAndGet();
    }

    @Override
    public void received(long scheduledNanos) {
        receipts.incrementAndGet();
        received.add(scheduledNanos);
        all.countDown();
    }

    @Override
    public void failed(String reason) {
        failures.add(reason);
    }
}
