package io.courier.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.transport.proto.Frame;
import io.courier.transport.proto.KeyBundleFetch;
import io.courier.transport.proto.KeyBundles;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The raw bundles of the forged-pre-key test are what they claim once fetched from the server: the
 * genuine one's signed pre-key signature verifies under its identity key, the forged one's does
 * not (checked here with the JDK alone, independently of the SDK).
 */
class RawKeysTest {

    /** An Ed25519 SubjectPublicKeyInfo without its 32 key bytes (RFC 8410). */
    private static final byte[] ED25519_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

    @TempDir
    Path dir;

    @Test
    void shouldPublishAGenuineBundleThatVerifiesAndAForgedOneThatDoesNot() throws Exception {
        KeyPair genuine = RawKeys.generate("Ed25519");
        KeyPair forgedIdentity = RawKeys.generate("Ed25519");
        try (TestServer server = new TestServer(dir).start();
             RawClient trent = RawClient.connect(server.tcpPort, "trent", "1", server.token("trent"));
             RawClient mallory = RawClient.connect(server.tcpPort, "mallory", "1", server.token("mallory"));
             RawClient alice = RawClient.connect(server.tcpPort, "alice", "1", server.token("alice"))) {
            publish(trent, RawKeys.bundle(genuine, genuine, 7));
            publish(mallory, RawKeys.bundle(forgedIdentity, RawKeys.generate("Ed25519"), 7));
            assertThat(verifies(fetch(alice, "trent"))).isTrue();
            KeyBundles.Bundle forged = fetch(alice, "mallory");
            assertThat(forged.getIdentityKey().toByteArray()).isEqualTo(RawKeys.raw(forgedIdentity));
            assertThat(verifies(forged)).isFalse();
        }
    }

    static void publish(RawClient device, io.courier.transport.proto.KeyBundlePublish bundle) throws Exception {
        long id = device.nextRequestId();
        device.send(Frame.newBuilder().setRequestId(id).setKeyBundlePublish(bundle));
        Frame answer = device.await(f -> f.getRequestId() == id);
        assertThat(answer.hasKeyBundles()).as(answer.toString()).isTrue();
    }

    private static KeyBundles.Bundle fetch(RawClient client, String user) throws Exception {
        long id = client.nextRequestId();
        client.send(Frame.newBuilder().setRequestId(id).setKeyBundleFetch(KeyBundleFetch.newBuilder().setUser(user)));
        Frame answer = client.await(f -> f.getRequestId() == id);
        assertThat(answer.getKeyBundles().getBundlesList()).hasSize(1);
        return answer.getKeyBundles().getBundles(0);
    }

    private static boolean verifies(KeyBundles.Bundle b) throws Exception {
        byte[] raw = b.getIdentityKey().toByteArray();
        byte[] encoded = Arrays.copyOf(ED25519_PREFIX, ED25519_PREFIX.length + raw.length);
        System.arraycopy(raw, 0, encoded, ED25519_PREFIX.length, raw.length);
        PublicKey key = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(encoded));
        Signature s = Signature.getInstance("Ed25519");
        s.initVerify(key);
        s.update(b.getAgreementKey().toByteArray());
        return s.verify(b.getSignature().toByteArray());
    }
}
