package io.courier.router;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.courier.router.auth.InsecureAuthenticator;
import io.courier.storage.DeviceId;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.memory.InMemoryStorageProvider;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Send;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Back-pressure never loses or reorders: with a tiny mailbox and a connection that stops being
 * writable, every accepted message still arrives once, in order, when it drains.
 */
class RouterBackPressureTest {

    private StorageBackend storage;
    private Router router;
    private SimpleMeterRegistry registry;

    @BeforeEach
    void start() {
        storage = new InMemoryStorageProvider().open(new StorageConfig(Path.of("unused"), Map.of()));
        registry = new SimpleMeterRegistry();
        router = new Router(RouterConfig.builder().mailboxCapacity(4).drainPageSize(16).build(), storage,
            new InsecureAuthenticator(), registry, Clock.systemUTC()).start();
    }

    @AfterEach
    void stop() {
        router.close();
        storage.close();
    }

    @Test
    void shouldDeliverEverythingInOrderAfterMailboxOverflowAndUnwritableConnection() throws Exception {
        RecordingConnection alice = connect("alice");
        RecordingConnection bob = connect("bob");
        bob.setWritable(false);

        int count = 500;
        IntStream.range(0, count).forEach(i -> alice.receive(send("bob", "m" + i)));
        await().atMost(30, SECONDS).until(() -> accepted(alice) == count);
        assertThat(deliveries(bob)).as("nothing written while unwritable").isEmpty();
        assertThat(registry.get("courier.mailbox.full").counter().count()).as("the tiny mailbox overflowed").isPositive();
        assertThat(storage.messages().pendingCount(DeviceId.primary("bob"))).isEqualTo(count);

        bob.setWritable(true);
        await().atMost(30, SECONDS).until(() -> deliveries(bob).size() == count);
        assertThat(deliveries(bob)).extracting(Deliver::getClientMessageId)
            .containsExactlyElementsOf(IntStream.range(0, count).mapToObj(i -> "m" + i).toList());

        alice.shutdown();
        bob.shutdown();
    }

    @Test
    void shouldWriteNoEntryPastTheHighWaterMarkUntilWritableAgainAcrossInboxPages() throws Exception {
        RecordingConnection alice = connect("alice");
        int count = 40;
        IntStream.range(0, count).forEach(i -> alice.receive(send("bob", "m" + i)));
        await().atMost(30, SECONDS).until(() -> accepted(alice) == count);

        // Bob comes back to 40 waiting (three inbox pages of 16) on a connection whose high-water
        // mark one Deliver passes: a drain writes one, then waits for the transport to drain.
        RecordingConnection bob = new RecordingConnection(router);
        bob.highWaterEvery(1);
        bob.receive(Frame.newBuilder().setHello(Hello.newBuilder().setUser("bob")).build());
        for (int written = 1; written <= count; written++) {
            int expected = written;
            await().atMost(10, SECONDS).until(() -> deliveries(bob).size() == expected);
            bob.sync();
            assertThat(deliveries(bob)).as("nothing past the high-water mark while unwritable").hasSize(expected);
            bob.setWritable(true);
        }
        assertThat(deliveries(bob)).extracting(Deliver::getClientMessageId)
            .containsExactlyElementsOf(IntStream.range(0, count).mapToObj(i -> "m" + i).toList());

        alice.shutdown();
        bob.shutdown();
    }

    private RecordingConnection connect(String user) {
        RecordingConnection connection = new RecordingConnection(router);
        connection.receive(Frame.newBuilder().setHello(Hello.newBuilder().setUser(user)).build());
        await().atMost(10, SECONDS).until(() -> connection.written.stream().anyMatch(Frame::hasWelcome));
        return connection;
    }

    private static Frame send(String to, String clientId) {
        return Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId(clientId).setRecipient(to)
            .setPayload(ByteString.copyFromUtf8(clientId))).build();
    }

    private static long accepted(RecordingConnection c) {
        return c.written.stream().filter(Frame::hasAccepted).count();
    }

    private static List<Deliver> deliveries(RecordingConnection c) {
        return c.written.stream().filter(Frame::hasDeliver).map(Frame::getDeliver).toList();
    }
}
