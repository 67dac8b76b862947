package io.courier.router;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.courier.router.auth.InsecureAuthenticator;
import io.courier.storage.DeviceId;
import io.courier.storage.InboxEntry;
import io.courier.storage.RetentionPolicy;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.memory.InMemoryStorageProvider;
import io.courier.transport.proto.Accepted;
import io.courier.transport.proto.DeliveryAck;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.ReadReceipt;
import io.courier.transport.proto.Receipt;
import io.courier.transport.proto.Send;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The router keeps the retention rules on its own clock: a repeated send is a duplicate only
 * within the de-duplication window, and a delivered message nobody read is forgotten after the
 * retention, after which its read receipt is refused. The test moves the clock and drives expiry;
 * heartbeats and the expiry timer are set far beyond the test, so only the test moves things.
 */
class RouterRetentionTest {

    private static final Duration WINDOW = Duration.ofDays(7);
    private static final Duration RETENTION = Duration.ofDays(30);
    private static final DeviceId BOB = DeviceId.primary("bob");

    private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    private StorageBackend storage;
    private Router router;
    private SimpleMeterRegistry registry;
    private RecordingConnection alice;
    private RecordingConnection bob;

    @BeforeEach
    void start() {
        storage = new InMemoryStorageProvider().open(new StorageConfig(Path.of("unused"), Map.of()));
        registry = new SimpleMeterRegistry();
        router = new Router(RouterConfig.builder().heartbeatIntervalMs(Integer.MAX_VALUE)
            .expiryIntervalMs(Integer.MAX_VALUE).dedupWindow(WINDOW).deliveredRetention(RETENTION).build(), storage,
            new InsecureAuthenticator(), registry, clock).start();
        alice = connect("alice");
        bob = connect("bob");
    }

    @AfterEach
    void stop() throws InterruptedException {
        alice.shutdown();
        bob.shutdown();
        router.close();
        storage.close();
    }

    @Test
    void shouldAnswerARepeatedSendWithItsFirstTickOnlyWithinTheWindow() {
        long first = send("c-1").getServerMessageId();
        assertThat(send("c-1").getServerMessageId()).as("repeated at once").isEqualTo(first);

        clock.advance(WINDOW.minusMillis(1));
        assertThat(send("c-1").getServerMessageId()).as("repeated just inside the window").isEqualTo(first);
        assertThat(registry.get("courier.messages.duplicate").counter().count()).isEqualTo(2);

        clock.advance(Duration.ofMillis(1));
        // Not yet expired from storage (no pass has run), but outside the window: a new message.
        long second = send("c-1").getServerMessageId();
        assertThat(second).isGreaterThan(first);
        await().atMost(10, SECONDS).until(() -> deliveries().size() == 2);
        assertThat(deliveries()).containsExactly(first, second);

        clock.advance(Duration.ofDays(1));
        assertThat(send("c-1").getServerMessageId()).as("the new one has a window of its own").isEqualTo(second);
    }

    @Test
    void shouldForgetADeliveredMessageNobodyReadAfterTheRetentionAndRefuseItsReadReceipt() {
        long unread = send("unread").getServerMessageId();
        long read = send("read").getServerMessageId();
        await().atMost(10, SECONDS).until(() -> deliveries().size() == 2);
        bob.receive(Frame.newBuilder().setDeliveryAck(DeliveryAck.newBuilder().addServerMessageIds(unread)
            .addServerMessageIds(read)).build());
        await().atMost(10, SECONDS).until(() -> receipts(Receipt.Status.DELIVERED).size() == 2);
        bob.receive(Frame.newBuilder().setReadReceipt(ReadReceipt.newBuilder().addServerMessageIds(read)).build());
        await().atMost(10, SECONDS).until(() -> receipts(Receipt.Status.READ).size() == 1);
        assertThat(storage.messages().entry(BOB, read)).as("read: removed at once").isEmpty();
        assertThat(storage.messages().entry(BOB, unread)).get().extracting(InboxEntry::state)
            .isEqualTo(InboxEntry.State.DELIVERED);

        clock.advance(RETENTION.minusMillis(1));
        RetentionPolicy.Expired early = router.expire();
        assertThat(early.sends()).as("both de-duplication records, past their window").isEqualTo(2);
        assertThat(early.delivered()).isZero();
        assertThat(storage.messages().entry(BOB, unread)).isPresent();

        clock.advance(Duration.ofMillis(1));
        assertThat(router.expire().delivered()).isEqualTo(1);
        assertThat(storage.messages().entry(BOB, unread)).isEmpty();
        assertThat(registry.get("courier.storage.expired").tag("kind", "delivered").counter().count()).isEqualTo(1);
        assertThat(registry.get("courier.storage.expired").tag("kind", "sends").counter().count()).isEqualTo(2);

        bob.receive(Frame.newBuilder().setReadReceipt(ReadReceipt.newBuilder().addServerMessageIds(unread)).build());
        await().atMost(10, SECONDS).until(() -> bob.written.stream().anyMatch(f -> f.hasError()
            && f.getError().getCode() == Error.Code.UNKNOWN_MESSAGE && f.getError().getServerMessageId() == unread));
        assertThat(receipts(Receipt.Status.READ)).as("no blue tick for a forgotten message").containsExactly(read);
        // Alice never acknowledged her receipts: pending entries do not expire.
        assertThat(storage.messages().pendingCount(DeviceId.primary("alice"))).isEqualTo(3);
    }

    private RecordingConnection connect(String user) {
        RecordingConnection connection = new RecordingConnection(router);
        connection.receive(Frame.newBuilder().setHello(Hello.newBuilder().setUser(user)).build());
        await().atMost(10, SECONDS).until(() -> connection.written.stream().anyMatch(Frame::hasWelcome));
        return connection;
    }

    /** Alice sends {@code clientId} to bob and waits for the answer. */
    private Accepted send(String clientId) {
        int before = accepted().size();
        alice.receive(Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId(clientId).setRecipient("bob")
            .setPayload(ByteString.copyFromUtf8(clientId))).build());
        await().atMost(10, SECONDS).until(() -> accepted().size() > before);
        return accepted().get(before);
    }

    private List<Accepted> accepted() {
        return alice.written.stream().filter(Frame::hasAccepted).map(Frame::getAccepted).toList();
    }

    private List<Long> deliveries() {
        return bob.written.stream().filter(Frame::hasDeliver).map(f -> f.getDeliver().getServerMessageId()).toList();
    }

    private List<Long> receipts(Receipt.Status status) {
        return alice.written.stream().filter(f -> f.hasReceipt() && f.getReceipt().getStatus() == status)
            .map(f -> f.getReceipt().getMessageServerId()).toList();
    }
}
