package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.KeyBundleFetch;
import io.courier.transport.proto.KeyBundlePublish;
import io.courier.transport.proto.KeyBundles;
import io.courier.transport.proto.MediaSlotRequest;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Devices publish public key bundles and fetch each other's through the server. */
class KeyBundleTest {

    @TempDir
    Path dataDir;

    @Test
    void shouldPublishAndFetchKeyBundlesPerDevice() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir)) {
            TestClient phone = fixture.device("alice", "1").connect();
            TestClient laptop = fixture.device("alice", "laptop").connect();
            TestClient bob = fixture.user("bob").connect();
            publish(phone, 1, "phone-key");
            publish(laptop, 2, "laptop-key");

            bob.raw(Frame.newBuilder().setRequestId(3).setKeyBundleFetch(KeyBundleFetch.newBuilder().setUser("alice")).build());
            Frame answer = bob.others.poll(TestClient.TIMEOUT_SECONDS, SECONDS);
            assertThat(answer).isNotNull();
            assertThat(answer.getRequestId()).isEqualTo(3);
            KeyBundles bundles = answer.getKeyBundles();
            assertThat(bundles.getUser()).isEqualTo("alice");
            assertThat(bundles.getBundlesList()).extracting(KeyBundles.Bundle::getDevice).containsExactly("1", "laptop");
            assertThat(bundles.getBundles(1).getAgreementKey().toStringUtf8()).isEqualTo("laptop-key");

            // A bundle without keys is refused; so is a media slot request without its SHA-256.
            bob.raw(Frame.newBuilder().setRequestId(4).setKeyBundlePublish(KeyBundlePublish.getDefaultInstance()).build());
            Error invalid = bob.nextError();
            assertThat(invalid.getCode()).isEqualTo(Error.Code.INVALID_ARGUMENT);
            assertThat(invalid.getRequestId()).isEqualTo(4);
            bob.raw(Frame.newBuilder().setRequestId(5).setMediaSlotRequest(MediaSlotRequest.newBuilder()
                .setContentType("image/png").setSizeBytes(10)).build());
            Error noHash = bob.nextError();
            assertThat(noHash.getCode()).isEqualTo(Error.Code.INVALID_ARGUMENT);
            assertThat(noHash.getText()).isEqualTo("sha256 must be 32 bytes, was 0");
            assertThat(noHash.getRequestId()).isEqualTo(5);
        }
    }

    private static void publish(TestClient device, long requestId, String agreementKey) throws Exception {
        device.raw(Frame.newBuilder().setRequestId(requestId).setKeyBundlePublish(KeyBundlePublish.newBuilder()
            .setIdentityKey(ByteString.copyFromUtf8("identity-" + device.user))
            .setAgreementKey(ByteString.copyFromUtf8(agreementKey))
            .setSignature(ByteString.copyFromUtf8("sig"))).build());
        Frame ack = device.others.poll(TestClient.TIMEOUT_SECONDS, SECONDS);
        assertThat(ack).isNotNull();
        assertThat(ack.getRequestId()).isEqualTo(requestId);
        assertThat(ack.hasKeyBundles()).isTrue();
    }
}
