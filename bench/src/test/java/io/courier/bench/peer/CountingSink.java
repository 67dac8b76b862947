package io.courier.bench.peer;

import io.courier.bench.load.LoadSink;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/** Counts each scheduled time's acceptances and receipts, and keeps every failure reason. */
final class CountingSink implements LoadSink {

    final Map<Long, AtomicInteger> accepted = new ConcurrentHashMap<>();
    final Map<Long, AtomicInteger> received = new ConcurrentHashMap<>();
    final List<String> failures = new CopyOnWriteArrayList<>();
    final CountDownLatch allAccepted;
    final CountDownLatch allReceived;

    CountingSink(int expected) {
        allAccepted = new CountDownLatch(expected);
        allReceived = new CountDownLatch(expected);
    }

    @Override
    public void accepted(long scheduledNanos) {
        accepted.computeIfAbsent(scheduledNanos, k -> new AtomicInteger()).incrementAndGet();
        allAccepted.countDown();
    }

    @Override
    public void received(long scheduledNanos) {
        received.computeIfAbsent(scheduledNanos, k -> new AtomicInteger()).incrementAndGet();
        allReceived.countDown();
    }

    @Override
    public void failed(String reason) {
        failures.add(reason);
    }
}
