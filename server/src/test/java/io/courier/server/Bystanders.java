package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.courier.transport.ClientConnection;
import io.courier.transport.ClientListener;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.DeliveryAck;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Send;
import io.courier.transport.proto.Welcome;
import java.net.URI;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A pair of users who keep chatting while a test does its worst to the server: a message every
 * {@code intervalMs}, alternately each way, each one timed from its send to its arrival at the
 * other. They acknowledge every delivery and receipt, as a well-made device does. {@link #check()}
 * asserts that they saw no error, lost nothing, and that no message took more than a second —
 * the one timing the acceptance tests assert — after a warm-up that is not measured.
 */
final class Bystanders implements AutoCloseable {

    /** The most a bystander message may take from send to arrival. */
    static final long MAX_DELAY_MS = 1_000;
    private static final int WARM_UP = 50;
    /** Bounds the chat whatever the test does: at most this many messages, for at most this long. */
    private static final int MAX_MESSAGES = 20_000;
    private static final long MAX_SECONDS = 180;

    private final TransportClient transport;
    private final Peer dave;
    private final Peer erin;
    private final long intervalMs;
    private final int warmUp;
    private final Queue<String> errors = new ConcurrentLinkedQueue<>();
    private final ConcurrentHashMap<String, Long> sentAtNanos = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Long> delayNanos = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Long> acceptedNanos = new ConcurrentHashMap<>();
    private final AtomicBoolean chatting = new AtomicBoolean();
    private final AtomicInteger sent = new AtomicInteger();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private Thread thread;
    private long startedNanos;

    /**
     * Connects the pair through a TCP client of their own, so that their frames never queue behind
     * another test client's in the same process: what they measure is the server.
     */
    Bystanders(ServerFixture fixture, long intervalMs) throws Exception {
        this(fixture.tcp, fixture::token, intervalMs);
    }

    /** The pair on the TCP transport at {@code tcp}, each saying hello with {@code tokenFor} its user. */
    Bystanders(URI tcp, Function<String, String> tokenFor, long intervalMs) throws Exception {
        this.intervalMs = intervalMs;
        this.warmUp = (int) Math.max(WARM_UP, 2_000 / intervalMs);
        this.transport = TransportProviders.find("tcp").createClient(TransportSettings.of(0));
        this.dave = new Peer(tcp, tokenFor.apply("dave"), "dave");
        this.erin = new Peer(tcp, tokenFor.apply("erin"), "erin");
    }

    /**
     * Starts chatting on a thread of its own and returns once the warm-up is through: its first
     * messages (at least {@value #WARM_UP}, and two seconds' worth) warm the JIT and are not
     * measured, so the test's load starts on a warm server.
     */
    Bystanders start() {
        startedNanos = System.nanoTime();
        chatting.set(true);
        thread = new Thread(this::chat, "bystanders");
        thread.setDaemon(true);
        thread.start();
        await().atMost(60, SECONDS).until(() -> arrived(warmUp) == warmUp);
        return this;
    }

    private long arrived(int below) {
        return delayNanos.keySet().stream().filter(id -> number(id) < below).count();
    }

    private static int number(String clientId) {
        return Integer.parseInt(clientId.substring(2));
    }

    private void chat() {
        long deadline = System.nanoTime() + SECONDS.toNanos(MAX_SECONDS);
        try {
            for (int n = 0; chatting.get() && n < MAX_MESSAGES && System.nanoTime() < deadline; n++) {
                (n % 2 == 0 ? dave : erin).send(n % 2 == 0 ? "erin" : "dave", "b-" + n);
                sent.incrementAndGet();
                // A timed wait on a latch paces the chat; nothing waits for anything else here.
                if (stopped.await(intervalMs, TimeUnit.MILLISECONDS)) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops the chat, waits for what is in flight, and asserts that the bystanders saw no error,
     * got every message, and none took more than {@link #MAX_DELAY_MS}. Reports the delays.
     */
    void check() throws InterruptedException {
        // At least two measured messages, so a test that finishes fast still shows the pair chatting.
        await().atMost(30, SECONDS).until(() -> sent.get() >= warmUp + 2 || !thread.isAlive());
        chatting.set(false);
        stopped.countDown();
        thread.join(SECONDS.toMillis(10));
        int count = sent.get() - warmUp;
        await().atMost(30, SECONDS).until(() -> delayNanos.size() - warmUp >= count);
        long[] delays = delayNanos.entrySet().stream().filter(e -> number(e.getKey()) >= warmUp)
            .mapToLong(e -> e.getValue()).sorted().toArray();
        long maxMs = delays.length == 0 ? 0 : TimeUnit.NANOSECONDS.toMillis(delays[delays.length - 1]);
        long p99Ms = delays.length == 0 ? 0 : TimeUnit.NANOSECONDS.toMillis(delays[(int) (delays.length * 0.99)]);
        long[] toAccepted = acceptedNanos.entrySet().stream().filter(e -> number(e.getKey()) >= warmUp)
            .mapToLong(e -> e.getValue()).sorted().toArray();
        System.out.printf("Bystanders: %d messages, delay p50 %.1f ms, p99 %d ms, max %d ms; to accepted p50 %.1f ms,"
                + " max %d ms%n", delays.length, delays.length == 0 ? 0.0 : delays[delays.length / 2] / 1e6, p99Ms, maxMs,
            toAccepted.length == 0 ? 0.0 : toAccepted[toAccepted.length / 2] / 1e6,
            toAccepted.length == 0 ? 0 : TimeUnit.NANOSECONDS.toMillis(toAccepted[toAccepted.length - 1]));
        delayNanos.entrySet().stream().filter(e -> number(e.getKey()) >= warmUp)
            .max(java.util.Map.Entry.comparingByValue()).ifPresent(slowest -> System.out.printf(
                "Bystanders: the slowest, %s, was sent %.1f s after the chat started%n", slowest.getKey(),
                (sentAtNanos.get(slowest.getKey()) - startedNanos) / 1e9));
        assertThat(errors).as("errors the bystanders got").isEmpty();
        assertThat(delays).as("bystander messages delivered").hasSize(count);
        assertThat(count).as("bystander messages sent while the test ran").isPositive();
        assertThat(maxMs).as("the slowest bystander message, ms (all: %s)", Arrays.toString(slowest(delays)))
            .isLessThanOrEqualTo(MAX_DELAY_MS);
        assertThat(dave.isOpen() && erin.isOpen()).as("bystanders still connected").isTrue();
    }

    private static long[] slowest(long[] sortedNanos) {
        return Arrays.stream(sortedNanos, Math.max(0, sortedNanos.length - 5), sortedNanos.length)
            .map(TimeUnit.NANOSECONDS::toMillis).toArray();
    }

    @Override
    public void close() {
        chatting.set(false);
        stopped.countDown();
        dave.close();
        erin.close();
        transport.close();
    }

    /** One bystander: acknowledges everything it gets, times what it receives, keeps its errors. */
    private final class Peer implements ClientListener {
        private final String user;
        private final ClientConnection connection;
        private final CompletableFuture<Welcome> welcome = new CompletableFuture<>();
        private final ConcurrentHashMap<Long, Boolean> seen = new ConcurrentHashMap<>();

        Peer(URI tcp, String token, String user) throws Exception {
            this.user = user;
            this.connection = transport.connect(tcp, this).get(30, SECONDS);
            connection.send(Frame.newBuilder().setHello(Hello.newBuilder().setUser(user)
                .setToken(token)).build());
            welcome.get(30, SECONDS);
        }

        void send(String to, String clientId) {
            sentAtNanos.put(clientId, System.nanoTime());
            connection.send(Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId(clientId).setRecipient(to)
                .setContentType("text/plain").setPayload(ByteString.copyFromUtf8("hello from " + user))).build());
        }

        boolean isOpen() {
            return connection.isOpen();
        }

        void close() {
            connection.close();
        }

        @Override
        public void onFrame(Frame frame) {
            switch (frame.getBodyCase()) {
                case WELCOME -> welcome.complete(frame.getWelcome());
                case ACCEPTED -> {
                    Long sentAt = sentAtNanos.get(frame.getAccepted().getClientMessageId());
                    if (sentAt != null) {
                        acceptedNanos.putIfAbsent(frame.getAccepted().getClientMessageId(), System.nanoTime() - sentAt);
                    }
                }
                case DELIVER -> {
                    long arrived = System.nanoTime();
                    String id = frame.getDeliver().getClientMessageId();
                    if (seen.putIfAbsent(frame.getDeliver().getServerMessageId(), Boolean.TRUE) == null) {
                        Long sentAt = sentAtNanos.get(id);
                        if (sentAt != null) {
                            delayNanos.putIfAbsent(id, arrived - sentAt);
                        }
                    }
                    ack(frame.getDeliver().getServerMessageId());
                }
                case RECEIPT -> ack(frame.getReceipt().getServerMessageId());
                case ERROR -> errors.add(user + ": " + frame.getError().getCode() + " " + frame.getError().getText());
                default -> {
                }
            }
        }

        private void ack(long id) {
            connection.send(Frame.newBuilder().setDeliveryAck(DeliveryAck.newBuilder().addServerMessageIds(id)).build());
        }

        @Override
        public void onClose() {
            if (chatting.get()) {
                errors.add(user + ": connection closed");
            }
        }
    }

    /** The errors so far, for tests that look while the chat goes on. */
    List<String> errors() {
        return List.copyOf(errors);
    }
}
