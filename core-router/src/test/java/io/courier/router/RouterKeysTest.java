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
import io.courier.transport.proto.Accepted;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.DeviceAddress;
import io.courier.transport.proto.DevicePayload;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.KeyBundleFetch;
import io.courier.transport.proto.KeyBundlePublish;
import io.courier.transport.proto.KeyBundles;
import io.courier.transport.proto.OneTimePreKey;
import io.courier.transport.proto.Send;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The key directory and end-to-end encrypted sends, router and in-memory store only: the limits
 * of publishes and sends, per-device inbox quotas, and that the writer's view of who has a bundle
 * follows every answered publish. Nothing sleeps; Awaitility waits for the reader and writer.
 */
class RouterKeysTest {

    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final List<RecordingConnection> connections = new ArrayList<>();
    private StorageBackend storage;
    private Router router;

    @BeforeEach
    void start() {
        storage = new InMemoryStorageProvider().open(new StorageConfig(Path.of("unused"), Map.of()));
        router = new Router(RouterConfig.builder().maxPayloadBytes(300).inboxMaxBytes(200)
            .maxOneTimePreKeysPerPublish(10).maxOneTimePreKeys(12).oneTimePreKeysLow(3).build(), storage,
            new InsecureAuthenticator(), new SimpleMeterRegistry(), clock).start();
    }

    @AfterEach
    void stop() throws Exception {
        for (RecordingConnection connection : connections) {
            connection.shutdown();
        }
        router.close();
        storage.close();
    }

    @Test
    void shouldSeeEveryAnsweredPublishInTheNextSendsDeviceCheck() {
        RecordingConnection alice = connect("alice", "1");
        RecordingConnection bob = connect("bob", "1");
        publish(alice, 1, 0);
        publish(bob, 1, 0);
        // The writer learns bob's devices with bundles here, and keeps them.
        alice.receive(encrypted("m-1", "bob", copy("bob", "1", 10)));
        await().atMost(10, SECONDS).until(() -> accepted(alice).size() == 1);

        // A bundle published afterwards is required from the answer on: the cache follows it.
        RecordingConnection tablet = connect("bob", "tablet");
        publish(tablet, 1, 0);
        alice.receive(encrypted("m-2", "bob", copy("bob", "1", 10)));
        Error stale = error(alice, 0);
        assertThat(stale.getCode()).isEqualTo(Error.Code.STALE_DEVICES);
        assertThat(stale.getMissingDevicesList()).containsExactly(address("bob", "tablet"));
        assertThat(storage.messages().pendingCount(new DeviceId("bob", "1"))).isEqualTo(1);

        alice.receive(encrypted("m-2", "bob", copy("bob", "1", 10), copy("bob", "tablet", 11)));
        await().atMost(10, SECONDS).until(() -> accepted(alice).size() == 2);
        await().atMost(10, SECONDS).until(() -> deliveries(tablet).size() == 1);
        assertThat(deliveries(tablet).get(0).getPayload().size()).isEqualTo(11);
        assertThat(router.errorCount(Error.Code.STALE_DEVICES)).isEqualTo(1);
    }

    @Test
    void shouldRefuseAPayloadForAnIdentityKeyTheDeviceNoLongerHas() {
        RecordingConnection alice = connect("alice", "1");
        RecordingConnection bob = connect("bob", "1");
        publish(bob, 1, 0);
        alice.receive(encrypted("m-1", "bob", copy("bob", "1", 10).toBuilder().setIdentityKey(key(1)).build()));
        await().atMost(10, SECONDS).until(() -> accepted(alice).size() == 1);

        // Bob reinstalls: the same device publishes another identity key, and the cache follows it.
        publish(bob, 20, 0);
        alice.receive(encrypted("m-2", "bob", copy("bob", "1", 10).toBuilder().setIdentityKey(key(1)).build()));
        Error stale = error(alice, 0);
        assertThat(stale.getCode()).isEqualTo(Error.Code.STALE_DEVICES);
        assertThat(stale.getClientMessageId()).isEqualTo("m-2");
        assertThat(stale.getChangedDevicesList()).containsExactly(address("bob", "1"));
        assertThat(stale.getMissingDevicesList()).isEmpty();
        assertThat(stale.getExtraDevicesList()).isEmpty();
        assertThat(stale.getText()).contains("1 with a new identity key");
        assertThat(storage.messages().pendingCount(new DeviceId("bob", "1"))).as("nothing stored").isEqualTo(1);

        // Encrypted for the new key it is taken; a payload that names no key is not checked.
        alice.receive(encrypted("m-2", "bob", copy("bob", "1", 10).toBuilder().setIdentityKey(key(20)).build()));
        alice.receive(encrypted("m-3", "bob", copy("bob", "1", 10)));
        await().atMost(10, SECONDS).until(() -> accepted(alice).size() == 3);
        assertThat(storage.messages().pendingCount(new DeviceId("bob", "1"))).isEqualTo(3);
    }

    @Test
    void shouldHoldThePayloadsTogetherToTheLimitAndEachInboxToItsOwnPayload() {
        RecordingConnection alice = connect("alice", "1");
        RecordingConnection bob = connect("bob", "1");
        RecordingConnection tablet = connect("bob", "tablet");
        publish(bob, 1, 0);
        publish(tablet, 1, 0);

        alice.receive(encrypted("big", "bob", copy("bob", "1", 151), copy("bob", "tablet", 150)));
        Error tooLarge = error(alice, 0);
        assertThat(tooLarge.getCode()).isEqualTo(Error.Code.PAYLOAD_TOO_LARGE);
        assertThat(tooLarge.getText()).contains("301 bytes").contains("router.max-payload-bytes = 300");

        // 150 bytes in each of two inboxes of 200: the sum (300) is not what a quota counts.
        alice.receive(encrypted("fits", "bob", copy("bob", "1", 150), copy("bob", "tablet", 150)));
        await().atMost(10, SECONDS).until(() -> accepted(alice).size() == 1);
        // Acknowledged by bob/1 only: the tablet's inbox is now full, bob/1's is not.
        await().atMost(10, SECONDS).until(() -> deliveries(bob).size() == 1 && deliveries(tablet).size() == 1);
        bob.receive(Frame.newBuilder().setDeliveryAck(io.courier.transport.proto.DeliveryAck.newBuilder()
            .addServerMessageIds(deliveries(bob).get(0).getServerMessageId())).build());
        await().atMost(10, SECONDS).until(() -> storage.messages().pendingCount(new DeviceId("bob", "1")) == 0);
        alice.receive(encrypted("full", "bob", copy("bob", "1", 10), copy("bob", "tablet", 60)));
        Error full = error(alice, 1);
        assertThat(full.getCode()).isEqualTo(Error.Code.INBOX_FULL);
        assertThat(full.getClientMessageId()).isEqualTo("full");
        alice.receive(encrypted("small", "bob", copy("bob", "1", 100), copy("bob", "tablet", 10)));
        await().atMost(10, SECONDS).until(() -> accepted(alice).size() == 2);
    }

    @Test
    void shouldRefusePublishesAboveTheLimitsAndTellALowDeviceAfterItsWelcome() {
        RecordingConnection alice = connect("alice", "1");
        RecordingConnection bob = connect("bob", "1");
        assertThat(publish(alice, 1, 10)).isEqualTo(10);
        alice.receive(publishFrame(2, 1, 11, 100));
        Error perPublish = error(alice, 0);
        assertThat(perPublish.getCode()).isEqualTo(Error.Code.INVALID_ARGUMENT);
        assertThat(perPublish.getText()).contains("router.max-one-time-pre-keys-per-publish = 10");
        alice.receive(publishFrame(3, 1, 3, 100));
        Error supply = error(alice, 1);
        assertThat(supply.getText()).contains("router.max-one-time-pre-keys = 12");
        assertThat(storage.keys().oneTimePreKeyCount(DeviceId.primary("alice"))).isEqualTo(10);

        // Fetches take 1..8 of the ten: the supply drops below 3 at the eighth.
        for (int i = 0; i < 8; i++) {
            bob.receive(Frame.newBuilder().setRequestId(10 + i).setKeyBundleFetch(KeyBundleFetch.newBuilder()
                .setUser("alice").addDevices("1")).build());
        }
        await().atMost(10, SECONDS).until(() -> answers(bob).size() == 8);
        assertThat(answers(bob)).allSatisfy(answer -> assertThat(answer.getBundles(0).hasOneTimePreKey()).isTrue());
        // Two fetches served at once may both count after both took: then both tell her 2.
        await().atMost(10, SECONDS).until(() -> !lowNotices(alice).isEmpty());
        assertThat(lowNotices(alice)).hasSizeBetween(1, 2).containsOnly(2);

        // Reconnecting, the device is told after its Welcome.
        RecordingConnection again = connect("alice", "1");
        await().atMost(10, SECONDS).until(() -> lowNotices(again).size() == 1);
        assertThat(again.written.get(0).hasWelcome()).isTrue();
        assertThat(lowNotices(again)).containsExactly(2);
        // A device without a bundle is never told.
        RecordingConnection carol = connect("carol", "1");
        carol.receive(Frame.newBuilder().setRequestId(5).setKeyBundleFetch(KeyBundleFetch.newBuilder().setUser("alice"))
            .build());
        await().atMost(10, SECONDS).until(() -> answers(carol).size() == 1);
        assertThat(lowNotices(carol)).isEmpty();
    }

    // ---------------------------------------------------------------- helpers

    private RecordingConnection connect(String user, String device) {
        RecordingConnection connection = new RecordingConnection(router);
        connections.add(connection);
        connection.receive(Frame.newBuilder().setHello(Hello.newBuilder().setUser(user).setDevice(device)).build());
        await().atMost(10, SECONDS).until(() -> connection.written.stream().anyMatch(Frame::hasWelcome));
        return connection;
    }

    /** Publishes a bundle with {@code preKeys} one-time pre-keys and returns the remaining supply. */
    private static int publish(RecordingConnection device, int seed, int preKeys) {
        int before = answers(device).size();
        device.receive(publishFrame(900 + before, seed, preKeys, 0));
        await().atMost(10, SECONDS).until(() -> answers(device).size() == before + 1);
        return answers(device).get(before).getOneTimePreKeysRemaining();
    }

    private static Frame publishFrame(long requestId, int seed, int preKeys, int firstId) {
        KeyBundlePublish.Builder publish = KeyBundlePublish.newBuilder().setIdentityKey(key(seed))
            .setAgreementKey(key(seed + 1)).setIdentityDhKey(key(seed + 2)).setSignedPreKeyId(1);
        for (int i = 0; i < preKeys; i++) {
            publish.addOneTimePreKeys(OneTimePreKey.newBuilder().setId(firstId + i).setPublicKey(key(50 + i)));
        }
        return Frame.newBuilder().setRequestId(requestId).setKeyBundlePublish(publish).build();
    }

    private static ByteString key(int seed) {
        byte[] key = new byte[32];
        Arrays.fill(key, (byte) seed);
        return ByteString.copyFrom(key);
    }

    private static Frame encrypted(String clientId, String to, DevicePayload... copies) {
        return Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId(clientId).setRecipient(to)
            .addAllDevicePayloads(List.of(copies))).build();
    }

    private static DevicePayload copy(String user, String device, int bytes) {
        return DevicePayload.newBuilder().setDevice(address(user, device)).setPayload(ByteString.copyFrom(new byte[bytes]))
            .build();
    }

    private static DeviceAddress address(String user, String device) {
        return DeviceAddress.newBuilder().setUser(user).setDevice(device).build();
    }

    /** The connection's error number {@code index} (from 0), once it has been written. */
    private static Error error(RecordingConnection c, int index) {
        await().atMost(10, SECONDS).until(() -> c.written.stream().filter(Frame::hasError).count() > index);
        return c.written.stream().filter(Frame::hasError).map(Frame::getError).toList().get(index);
    }

    private static List<KeyBundles> answers(RecordingConnection c) {
        return c.written.stream().filter(Frame::hasKeyBundles).map(Frame::getKeyBundles).toList();
    }

    private static List<Integer> lowNotices(RecordingConnection c) {
        return c.written.stream().filter(Frame::hasPreKeysLow).map(f -> f.getPreKeysLow().getRemaining()).toList();
    }

    private static List<Accepted> accepted(RecordingConnection c) {
        return c.written.stream().filter(Frame::hasAccepted).map(Frame::getAccepted).toList();
    }

    private static List<Deliver> deliveries(RecordingConnection c) {
        return c.written.stream().filter(Frame::hasDeliver).map(Frame::getDeliver).toList();
    }
}
