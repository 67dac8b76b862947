package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.DeviceAddress;
import io.courier.transport.proto.DevicePayload;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.KeyBundleFetch;
import io.courier.transport.proto.KeyBundlePublish;
import io.courier.transport.proto.KeyBundles;
import io.courier.transport.proto.MediaSlotRequest;
import io.courier.transport.proto.OneTimePreKey;
import io.courier.transport.proto.Send;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Devices publish public key bundles with one-time pre-keys and fetch each other's through the
 * server (on its default RocksDB store, over TCP); end-to-end encrypted sends carry one payload
 * per device.
 */
class KeyBundleTest {

    @TempDir
    Path dataDir;

    @Test
    void shouldPublishAndFetchKeyBundlesPerDevice() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir)) {
            TestClient phone = fixture.device("alice", "1").connect();
            TestClient laptop = fixture.device("alice", "laptop").connect();
            TestClient bob = fixture.user("bob").connect();
            assertThat(publish(phone, 1, bundle(1, 7, 30, 1))).isEqualTo(30);
            assertThat(publish(laptop, 2, bundle(2, 8, 25, 100))).isEqualTo(25);

            KeyBundles bundles = fetch(bob, 3, "alice");
            assertThat(bundles.getUser()).isEqualTo("alice");
            assertThat(bundles.getOneTimePreKeysRemaining()).isZero();
            assertThat(bundles.getBundlesList()).extracting(KeyBundles.Bundle::getDevice).containsExactly("1", "laptop");
            KeyBundles.Bundle laptops = bundles.getBundles(1);
            assertThat(laptops.getIdentityKey()).isEqualTo(key(2, 1));
            assertThat(laptops.getAgreementKey()).isEqualTo(key(2, 2));
            assertThat(laptops.getSignature()).isEqualTo(signature(2, 3));
            assertThat(laptops.getIdentityDhKey()).isEqualTo(key(2, 4));
            assertThat(laptops.getIdentityDhSignature()).isEqualTo(signature(2, 5));
            assertThat(laptops.getSignedPreKeyId()).isEqualTo(8);
            assertThat(laptops.hasOneTimePreKey()).isTrue();
            assertThat(laptops.getOneTimePreKey().getId()).isBetween(100, 124);
            assertThat(laptops.getOneTimePreKey().getPublicKey()).isEqualTo(preKey(laptops.getOneTimePreKey().getId()));

            // The devices filter: only the laptop's bundle, and a device without one is left out.
            bob.raw(Frame.newBuilder().setRequestId(4).setKeyBundleFetch(KeyBundleFetch.newBuilder().setUser("alice")
                .addDevices("laptop").addDevices("tablet")).build());
            assertThat(next(bob, 4).getKeyBundles().getBundlesList()).extracting(KeyBundles.Bundle::getDevice)
                .containsExactly("laptop");

            // A bundle without keys is refused; so is a media slot request without its SHA-256.
            bob.raw(Frame.newBuilder().setRequestId(5).setKeyBundlePublish(KeyBundlePublish.getDefaultInstance()).build());
            Error invalid = bob.nextError();
            assertThat(invalid.getCode()).isEqualTo(Error.Code.INVALID_ARGUMENT);
            assertThat(invalid.getRequestId()).isEqualTo(5);
            bob.raw(Frame.newBuilder().setRequestId(6).setMediaSlotRequest(MediaSlotRequest.newBuilder()
                .setContentType("image/png").setSizeBytes(10)).build());
            Error noHash = bob.nextError();
            assertThat(noHash.getCode()).isEqualTo(Error.Code.INVALID_ARGUMENT);
            assertThat(noHash.getText()).isEqualTo("sha256 must be 32 bytes, was 0");
            assertThat(noHash.getRequestId()).isEqualTo(6);
        }
    }

    @Test
    void shouldHandOutEachOneTimePreKeyOnceAndTellTheDeviceWhenItRunsLow() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir)) {
            TestClient alice = fixture.user("alice").connect();
            TestClient bob = fixture.user("bob").connect();
            assertThat(publish(alice, 1, bundle(1, 1, 21, 1))).isEqualTo(21);

            Set<Integer> handedOut = new HashSet<>();
            for (int i = 0; i < 21; i++) {
                KeyBundles.Bundle bundle = fetch(bob, 10 + i, "alice").getBundles(0);
                assertThat(bundle.hasOneTimePreKey()).isTrue();
                assertThat(handedOut.add(bundle.getOneTimePreKey().getId())).as("handed out once").isTrue();
                int remaining = 20 - i;
                if (remaining < 20) {
                    // Each take that leaves fewer than router.one-time-pre-keys-low (20) tells alice.
                    Frame low = next(alice, 0);
                    assertThat(low.getPreKeysLow().getRemaining()).isEqualTo(remaining);
                }
            }
            assertThat(handedOut).hasSize(21);
            // None left: the bundle comes without one, and alice hears nothing more.
            assertThat(fetch(bob, 40, "alice").getBundles(0).hasOneTimePreKey()).isFalse();

            // A device that is low when it connects is told right after its Welcome.
            alice.disconnect();
            TestClient again = fixture.user("alice").connect();
            assertThat(next(again, 0).getPreKeysLow().getRemaining()).isZero();

            // Replenished; then a new identity key discards the earlier supply.
            assertThat(publish(again, 41, bundle(1, 1, 30, 200))).isEqualTo(30);
            assertThat(publish(again, 42, bundle(9, 2, 2, 300))).isEqualTo(2);
            KeyBundles.Bundle afterChange = fetch(bob, 43, "alice").getBundles(0);
            assertThat(afterChange.getIdentityKey()).isEqualTo(key(9, 1));
            assertThat(afterChange.getOneTimePreKey().getId()).isIn(300, 301);
        }
    }

    @Test
    void shouldRefuseAnInvalidPublishChangingNothing() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir)) {
            TestClient alice = fixture.user("alice").connect();
            TestClient bob = fixture.user("bob").connect();
            for (int batch = 0; batch < 10; batch++) {
                assertThat(publish(alice, 1 + batch, bundle(1, 1, 100, batch * 100))).isEqualTo(100 + batch * 100);
            }
            List<KeyBundlePublish> invalid = List.of(
                bundle(1, 1, 0, 0).toBuilder().setIdentityKey(ByteString.copyFrom(new byte[31])).build(),
                bundle(1, 1, 0, 0).toBuilder().setSignature(ByteString.copyFrom(new byte[63])).build(),
                bundle(1, 1, 0, 0).toBuilder().setIdentityDhKey(ByteString.copyFrom(new byte[33])).build(),
                bundle(1, 1, 101, 5000),
                bundle(1, 1, 1, 5000), // the 1,001st one-time pre-key
                bundle(1, 1, 0, 0).toBuilder().addOneTimePreKeys(OneTimePreKey.newBuilder().setId(1)
                    .setPublicKey(ByteString.copyFrom(new byte[16]))).build());
            for (int i = 0; i < invalid.size(); i++) {
                alice.raw(Frame.newBuilder().setRequestId(100 + i).setKeyBundlePublish(invalid.get(i)).build());
                Error error = alice.nextError();
                assertThat(error.getCode()).as(error.getText()).isEqualTo(Error.Code.INVALID_ARGUMENT);
                assertThat(error.getRequestId()).isEqualTo(100 + i);
                assertThat(error.getFatal()).isFalse();
            }
            // Still the first bundle with all 1,000 keys: a publish of ids it has adds none.
            assertThat(publish(alice, 200, bundle(1, 1, 1, 999))).isEqualTo(1000);
        }
    }

    @Test
    void shouldDeliverEachDeviceItsOwnPayloadAndRefuseStaleDevices() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir)) {
            TestClient phone = fixture.device("alice", "1").connect();
            TestClient laptop = fixture.device("alice", "laptop").connect();
            TestClient bob = fixture.user("bob").connect();
            TestClient tablet = fixture.device("bob", "tablet").connect(); // publishes no bundle
            publish(phone, 1, bundle(1, 1, 30, 1));
            publish(laptop, 2, bundle(2, 1, 30, 1));
            publish(bob, 3, bundle(3, 1, 30, 1));

            // Missing alice's laptop, and naming alice's phone (the sender) and bob's tablet (no bundle).
            phone.raw(encrypted("m1", "bob", copy("bob", "1", "to-bob"), copy("alice", "1", "to-me"),
                copy("bob", "tablet", "to-tablet")));
            Error stale = phone.nextError();
            assertThat(stale.getCode()).isEqualTo(Error.Code.STALE_DEVICES);
            assertThat(stale.getClientMessageId()).isEqualTo("m1");
            assertThat(stale.getFatal()).isFalse();
            assertThat(stale.getMissingDevicesList()).containsExactly(address("alice", "laptop"));
            assertThat(stale.getExtraDevicesList()).containsExactly(address("alice", "1"), address("bob", "tablet"));
            // Named twice is extra too.
            phone.raw(encrypted("m1", "bob", copy("bob", "1", "a"), copy("bob", "1", "b"),
                copy("alice", "laptop", "c")));
            Error twice = phone.nextError();
            assertThat(twice.getCode()).isEqualTo(Error.Code.STALE_DEVICES);
            assertThat(twice.getMissingDevicesList()).isEmpty();
            assertThat(twice.getExtraDevicesList()).containsExactly(address("bob", "1"));
            // A payload beside the device payloads is malformed.
            phone.raw(Frame.newBuilder().setSend(encrypted("m1", "bob", copy("bob", "1", "x")).getSend().toBuilder()
                .setPayload(ByteString.copyFromUtf8("plain"))).build());
            assertThat(phone.nextError().getCode()).isEqualTo(Error.Code.INVALID_ARGUMENT);

            phone.raw(encrypted("m1", "bob", copy("alice", "laptop", "to-laptop"), copy("bob", "1", "to-bob")));
            Awaitility.await().until(() -> phone.serverIdOf("m1") > 0);
            long serverId = phone.serverIdOf("m1");
            Deliver toBob = firstDelivery(bob);
            assertThat(toBob.getServerMessageId()).isEqualTo(serverId);
            assertThat(toBob.getPayload().toStringUtf8()).isEqualTo("to-bob");
            assertThat(toBob.getSenderDevice()).isEqualTo("1");
            Deliver toLaptop = firstDelivery(laptop);
            assertThat(toLaptop.getServerMessageId()).isEqualTo(serverId);
            assertThat(toLaptop.getRecipient()).isEqualTo("bob");
            assertThat(toLaptop.getPayload().toStringUtf8()).isEqualTo("to-laptop");

            // A repeat is answered with the first single tick and stored once.
            phone.raw(encrypted("m1", "bob", copy("alice", "laptop", "again"), copy("bob", "1", "again")));
            Awaitility.await().until(() -> phone.accepted.get("m1").size() == 2);
            assertThat(phone.accepted.get("m1")).containsExactly(serverId, serverId);

            // The tablet, without a bundle, got no copy: the plain message after it is its first.
            phone.send("bob", "m2", "plain text");
            Deliver toTablet = firstDelivery(tablet);
            assertThat(toTablet.getClientMessageId()).isEqualTo("m2");
            assertThat(toTablet.getPayload().toStringUtf8()).isEqualTo("plain text");
            Awaitility.await().until(() -> bob.deliveredCount() == 2);
            assertThat(bob.deliveredSnapshot()).extracting(Deliver::getClientMessageId).containsExactly("m1", "m2");
        }
    }

    // ---------------------------------------------------------------- helpers

    /** A bundle whose keys are made of {@code seed}, with {@code count} one-time pre-keys from {@code firstId}. */
    static KeyBundlePublish bundle(int seed, int signedPreKeyId, int count, int firstId) {
        KeyBundlePublish.Builder publish = KeyBundlePublish.newBuilder()
            .setIdentityKey(key(seed, 1))
            .setAgreementKey(key(seed, 2))
            .setSignature(signature(seed, 3))
            .setIdentityDhKey(key(seed, 4))
            .setIdentityDhSignature(signature(seed, 5))
            .setSignedPreKeyId(signedPreKeyId);
        for (int i = 0; i < count; i++) {
            publish.addOneTimePreKeys(OneTimePreKey.newBuilder().setId(firstId + i).setPublicKey(preKey(firstId + i)));
        }
        return publish.build();
    }

    static ByteString key(int seed, int which) {
        byte[] key = new byte[32];
        Arrays.fill(key, (byte) (seed * 16 + which));
        return ByteString.copyFrom(key);
    }

    static ByteString signature(int seed, int which) {
        return key(seed, which).concat(key(seed, which));
    }

    static ByteString preKey(int id) {
        byte[] key = new byte[32];
        for (int i = 0; i < 4; i++) {
            key[i] = (byte) (id >>> (24 - 8 * i));
        }
        key[31] = 0x55;
        return ByteString.copyFrom(key);
    }

    /** Publishes and returns the answer's one_time_pre_keys_remaining. */
    private static int publish(TestClient device, long requestId, KeyBundlePublish publish) throws Exception {
        device.raw(Frame.newBuilder().setRequestId(requestId).setKeyBundlePublish(publish).build());
        Frame ack = next(device, requestId);
        assertThat(ack.hasKeyBundles()).as("answer to publish %s: %s", requestId, ack).isTrue();
        assertThat(ack.getKeyBundles().getUser()).isEqualTo(device.user);
        assertThat(ack.getKeyBundles().getBundlesList()).isEmpty();
        return ack.getKeyBundles().getOneTimePreKeysRemaining();
    }

    private static KeyBundles fetch(TestClient client, long requestId, String user) throws Exception {
        client.raw(Frame.newBuilder().setRequestId(requestId).setKeyBundleFetch(KeyBundleFetch.newBuilder().setUser(user))
            .build());
        Frame answer = next(client, requestId);
        assertThat(answer.hasKeyBundles()).as("answer to fetch %s: %s", requestId, answer).isTrue();
        return answer.getKeyBundles();
    }

    /** The next frame (not an error, a delivery or a tick) for the client, which must have {@code requestId}. */
    private static Frame next(TestClient client, long requestId) throws Exception {
        Frame frame = client.others.poll(TestClient.TIMEOUT_SECONDS, SECONDS);
        assertThat(frame).as("a frame for %s/%s", client.user, client.device).isNotNull();
        assertThat(frame.getRequestId()).as("%s", frame).isEqualTo(requestId);
        return frame;
    }

    private static Deliver firstDelivery(TestClient client) {
        Awaitility.await().until(() -> client.deliveredCount() > 0);
        return client.deliveredSnapshot().get(0);
    }

    private static Frame encrypted(String clientId, String to, DevicePayload... copies) {
        return Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId(clientId).setRecipient(to)
            .setContentType("application/x-courier-e2e").addAllDevicePayloads(new ArrayList<>(List.of(copies)))).build();
    }

    private static DevicePayload copy(String user, String device, String payload) {
        return DevicePayload.newBuilder().setDevice(address(user, device)).setPayload(ByteString.copyFromUtf8(payload))
            .build();
    }

    private static DeviceAddress address(String user, String device) {
        return DeviceAddress.newBuilder().setUser(user).setDevice(device).build();
    }
}
