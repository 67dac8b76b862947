package io.courier.router.internal;

import io.courier.transport.IoThreadErrors;
import io.courier.transport.proto.Error;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToDoubleFunction;

/** The router's meters, created once so the hot path only increments. */
public final class RouterMetrics {

    private final MeterRegistry registry;
    private final Counter framesIn;
    private final Counter framesOut;
    private final Counter accepted;
    private final Counter duplicates;
    private final Counter delivered;
    private final Counter read;
    private final Counter mailboxFull;
    private final Counter clusterWakes;
    private final Counter inboxReadsFailed;
    private final Counter writerBatches;
    private final Counter writerShareFull;
    private final Counter readsPaused;
    private final Counter rateLimitedFrames;
    private final Counter rateLimitedBytes;
    private final Counter rateLimitClosed;
    private final Counter presenceWrites;
    private final Counter presenceAnnounced;
    private final Counter preKeysTaken;
    private final Counter preKeysExhausted;
    private final Counter preKeysLow;
    private final Counter encryptedSends;
    private final Map<Error.Code, Counter> errors = new EnumMap<>(Error.Code.class);
    private final Map<String, AtomicInteger> connections = new ConcurrentHashMap<>();
    private final Map<IoThreadErrors.Kind, Counter> ioThreadErrors = new EnumMap<>(IoThreadErrors.Kind.class);
    private final Map<String, Counter> transportTimeouts = new ConcurrentHashMap<>();

    public RouterMetrics(MeterRegistry registry) {
        this.registry = registry;
        framesIn = Counter.builder("courier.frames.in").description("Frames received from clients").register(registry);
        framesOut = Counter.builder("courier.frames.out").description("Frames sent to clients").register(registry);
        accepted = Counter.builder("courier.messages.accepted").description("Sends stored and given a single tick").register(registry);
        duplicates = Counter.builder("courier.messages.duplicate")
            .description("Repeated sends answered with the original single tick").register(registry);
        delivered = Counter.builder("courier.messages.delivered").description("Messages acknowledged by a recipient device").register(registry);
        read = Counter.builder("courier.messages.read").description("Messages reported read").register(registry);
        inboxReadsFailed = Counter.builder("courier.storage.inbox.reads.failed")
            .description("Inbox reads that failed (storage away); each is tried again a second later")
            .register(registry);
        clusterWakes = Counter.builder("courier.cluster.wakes")
            .description("Signals from other cluster nodes that made a session here read its inbox")
            .register(registry);
        mailboxFull = Counter.builder("courier.mailbox.full")
            .description("Live offers refused by a full session mailbox (the session re-reads its inbox)").register(registry);
        writerBatches = Counter.builder("courier.storage.batches").description("Group commits by the storage writer").register(registry);
        writerShareFull = Counter.builder("courier.storage.share.full")
            .description("Commands refused because their session had its whole share of the writer's queue waiting")
            .register(registry);
        readsPaused = Counter.builder("courier.storage.reads.paused")
            .description("Times a connection stopped reading because more than half the writer's queue was waiting")
            .register(registry);
        rateLimitedFrames = Counter.builder("courier.rate.limited").tag("limit", "frames")
            .description("Frames refused by a connection's rate limits, by the limit reached").register(registry);
        rateLimitedBytes = Counter.builder("courier.rate.limited").tag("limit", "bytes")
            .description("Frames refused by a connection's rate limits, by the limit reached").register(registry);
        rateLimitClosed = Counter.builder("courier.rate.limit.closed")
            .description("Connections closed for going on far beyond their rate limits").register(registry);
        presenceWrites = Counter.builder("courier.presence.writes")
            .description("Last-seen rows written to the presence store (users who went offline, and checkpoints)")
            .register(registry);
        presenceAnnounced = Counter.builder("courier.presence.announced")
            .description("Presence changes sent to subscribers (after coalescing)").register(registry);
        preKeysTaken = Counter.builder("courier.prekeys.taken")
            .description("One-time pre-keys handed out by key bundle fetches (and removed)").register(registry);
        preKeysExhausted = Counter.builder("courier.prekeys.exhausted")
            .description("Bundles fetched without a one-time pre-key: their device had none left").register(registry);
        preKeysLow = Counter.builder("courier.prekeys.low")
            .description("PreKeysLow notices sent to devices whose one-time pre-key supply runs low").register(registry);
        encryptedSends = Counter.builder("courier.messages.encrypted")
            .description("Sends with per-device payloads stored and given a single tick").register(registry);
        for (IoThreadErrors.Kind kind : IoThreadErrors.Kind.values()) {
            ioThreadErrors.put(kind, Counter.builder("courier.io.thread.errors").tag("kind", kind.label())
                .description("Errors (out of direct memory, stack overflow, fatal) that closed a connection on an I/O thread")
                .register(registry));
        }
        for (Error.Code code : Error.Code.values()) {
            if (code != Error.Code.UNRECOGNIZED && code != Error.Code.CODE_UNSPECIFIED) {
                errors.put(code, Counter.builder("courier.errors").tag("code", code.name())
                    .description("Error frames sent, by code").register(registry));
            }
        }
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** Counts one one-time pre-key handed out by a fetch. */
    public void oneTimePreKeyTaken() {
        preKeysTaken.increment();
    }

    /** Counts one fetched bundle whose device had no one-time pre-key left. */
    public void oneTimePreKeysExhausted() {
        preKeysExhausted.increment();
    }

    /** Counts one PreKeysLow sent. */
    public void preKeysLow() {
        preKeysLow.increment();
    }

    /** Counts the sends with per-device payloads that one committed batch accepted. */
    public void encryptedSends(int count) {
        encryptedSends.increment(count);
    }

    public void frameIn() {
        framesIn.increment();
    }

    public void frameOut() {
        framesOut.increment();
    }

    public void framesOut(int count) {
        framesOut.increment(count);
    }

    /** Counts single ticks given by one committed batch. */
    public void accepted(int count) {
        accepted.increment(count);
    }

    /** Counts repeated sends answered with their first single tick by one committed batch. */
    public void duplicates(int count) {
        duplicates.increment(count);
    }

    /** Counts double ticks routed by one committed batch. */
    public void delivered(int count) {
        delivered.increment(count);
    }

    /** Counts blue ticks routed by one committed batch. */
    public void read(int count) {
        read.increment(count);
    }

    public void inboxReadFailed() {
        inboxReadsFailed.increment();
    }

    public void clusterWake() {
        clusterWakes.increment();
    }

    public void mailboxFull() {
        mailboxFull.increment();
    }

    public void writerBatch() {
        writerBatches.increment();
    }

    public void writerShareFull() {
        writerShareFull.increment();
    }

    public void readsPaused() {
        readsPaused.increment();
    }

    /** A frame was refused by its connection's rate limits: the byte limit when {@code bytes}, else the frame limit. */
    public void rateLimited(boolean bytes) {
        (bytes ? rateLimitedBytes : rateLimitedFrames).increment();
    }

    /** Counts last-seen rows written to the presence store. */
    public void presenceWrites(int rows) {
        presenceWrites.increment(rows);
    }

    /** Count of last-seen rows written to the presence store so far (tests and tools). */
    public double presenceWriteCount() {
        return presenceWrites.count();
    }

    /** Counts a presence change sent to a subscriber. */
    public void presenceAnnounced() {
        presenceAnnounced.increment();
    }

    public void rateLimitClosed() {
        rateLimitClosed.increment();
    }

    /** Count of {@link #rateLimited} refusals so far, both limits (tests and tools). */
    public double rateLimitedCount() {
        return rateLimitedFrames.count() + rateLimitedBytes.count();
    }

    public void error(Error.Code code) {
        Counter counter = errors.get(code);
        if (counter != null) {
            counter.increment();
        }
    }

    /** Count of errors sent with {@code code} so far (tests and tools). */
    public double errorCount(Error.Code code) {
        Counter counter = errors.get(code);
        return counter == null ? 0 : counter.count();
    }

    /** Counts an Error that closed a connection on its I/O thread, by {@link IoThreadErrors.Kind}. */
    public void ioThreadError(IoThreadErrors.Kind kind) {
        ioThreadErrors.get(kind).increment();
    }

    /** Count of {@link #ioThreadError}s of {@code kind} so far (tests and tools). */
    public double ioThreadErrorCount(IoThreadErrors.Kind kind) {
        return ioThreadErrors.get(kind).count();
    }

    /** Counts a connection a transport closed before it was a Courier connection, for taking too long. */
    public void transportTimeout(String transport) {
        transportTimeouts.computeIfAbsent(transport, t -> Counter.builder("courier.transport.timeouts").tag("transport", t)
            .description("Connections closed before they were Courier connections, for taking too long "
                + "(a WebSocket upgrade, an HTTP request, an idle HTTP keep-alive connection)")
            .register(registry)).increment();
    }

    /** Count of {@link #transportTimeout}s of {@code transport} so far (tests and tools). */
    public double transportTimeoutCount(String transport) {
        Counter counter = transportTimeouts.get(transport);
        return counter == null ? 0 : counter.count();
    }

    public void connectionOpened(String transport) {
        connectionGauge(transport).incrementAndGet();
    }

    public void connectionClosed(String transport) {
        connectionGauge(transport).decrementAndGet();
    }

    private AtomicInteger connectionGauge(String transport) {
        return connections.computeIfAbsent(transport, t -> {
            AtomicInteger count = new AtomicInteger();
            Gauge.builder("courier.connections", count, AtomicInteger::get).tag("transport", t)
                .description("Open connections by transport").register(registry);
            return count;
        });
    }

    /** Registers a gauge read on scrape, e.g. total mailbox depth. */
    public <T> void gauge(String name, String description, T source, ToDoubleFunction<T> value) {
        Gauge.builder(name, source, value).description(description).register(registry);
    }
}
