package io.courier.client.crypto;

import static io.courier.client.crypto.Json.hex;
import static io.courier.client.crypto.Json.list;
import static io.courier.client.crypto.Json.obj;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The RFC and NIST known-answer vectors of vectors.json, through the wrappers the SDK uses. */
class PrimitiveKnownAnswerTest {
    private static final Map<String, Object> VECTORS = Json.vectors();

    @Test
    void hkdfMatchesRfc5869() {
        var cases = list(VECTORS.get("hkdf"));
        assertThat(cases).hasSize(3);
        for (Object o : cases) {
            var v = obj(o);
            byte[] okm = Hkdf.derive(hex(v, "salt"), hex(v, "ikm"), hex(v, "info"), ((Long) v.get("length")).intValue());
            assertThat(okm).as((String) v.get("name")).isEqualTo(hex(v, "okm"));
        }
    }

    @Test
    void x25519MatchesRfc7748() {
        var x = obj(VECTORS.get("x25519"));
        var single = list(x.get("scalar_mult"));
        assertThat(single).hasSize(2);
        for (Object o : single) {
            var v = obj(o);
            assertThat(X25519.agree(hex(v, "scalar"), hex(v, "u"))).as((String) v.get("name")).isEqualTo(hex(v, "output"));
        }
        var dh = obj(list(x.get("diffie_hellman")).get(0));
        assertThat(X25519.publicOf(hex(dh, "alice_private"))).isEqualTo(hex(dh, "alice_public"));
        assertThat(X25519.publicOf(hex(dh, "bob_private"))).isEqualTo(hex(dh, "bob_public"));
        assertThat(X25519.agree(hex(dh, "alice_private"), hex(dh, "bob_public"))).isEqualTo(hex(dh, "shared"));
        assertThat(X25519.agree(hex(dh, "bob_private"), hex(dh, "alice_public"))).isEqualTo(hex(dh, "shared"));
    }

    @Test
    void x25519RefusesLowOrderPoints() {
        byte[] priv = X25519.generate(Entropy.secure()).privateKey();
        byte[] zero = new byte[32];
        byte[] one = new byte[32];
        one[0] = 1;
        for (byte[] low : new byte[][] {zero, one}) {
            assertThatThrownBy(() -> X25519.agree(priv, low))
                    .isInstanceOfSatisfying(E2eException.class, e -> assertThat(e.reason()).isEqualTo(Reason.BAD_KEY));
        }
        assertThatThrownBy(() -> X25519.agree(priv, new byte[31]))
                .isInstanceOfSatisfying(E2eException.class, e -> assertThat(e.reason()).isEqualTo(Reason.BAD_KEY));
    }

    @Test
    void ed25519MatchesRfc8032() {
        var cases = list(VECTORS.get("ed25519"));
        assertThat(cases).hasSize(4);
        for (Object o : cases) {
            var v = obj(o);
            String name = (String) v.get("name");
            assertThat(Ed25519.publicOf(hex(v, "seed"))).as(name).isEqualTo(hex(v, "public"));
            assertThat(Ed25519.sign(hex(v, "seed"), hex(v, "message"))).as(name).isEqualTo(hex(v, "signature"));
            assertThat(Ed25519.verify(hex(v, "public"), hex(v, "message"), hex(v, "signature"))).as(name).isTrue();
            byte[] bad = hex(v, "signature");
            bad[7] ^= 1;
            assertThat(Ed25519.verify(hex(v, "public"), hex(v, "message"), bad)).as(name).isFalse();
            byte[] other = Bytes.concat(hex(v, "message"), new byte[] {0});
            assertThat(Ed25519.verify(hex(v, "public"), other, hex(v, "signature"))).as(name).isFalse();
        }
    }

    @Test
    void aesGcmMatchesTheGcmSpecification() {
        var cases = list(VECTORS.get("aes_gcm"));
        assertThat(cases).hasSize(4);
        for (Object o : cases) {
            var v = obj(o);
            String name = (String) v.get("name");
            byte[] sealed = Bytes.concat(hex(v, "ciphertext"), hex(v, "tag"));
            assertThat(Aead.seal(hex(v, "key"), hex(v, "nonce"), hex(v, "plaintext"), hex(v, "aad"))).as(name).isEqualTo(sealed);
            assertThat(Aead.open(hex(v, "key"), hex(v, "nonce"), sealed, hex(v, "aad"))).as(name).isEqualTo(hex(v, "plaintext"));
            sealed[sealed.length - 1] ^= 1;
            assertThatThrownBy(() -> Aead.open(hex(v, "key"), hex(v, "nonce"), sealed, hex(v, "aad")))
                    .isInstanceOfSatisfying(E2eException.class, e -> assertThat(e.reason()).isEqualTo(Reason.BAD_CIPHERTEXT));
        }
    }

    @Test
    void keyPairToStringHidesThePrivateKey() {
        KeyPair k = Ed25519.generate(Entropy.secure());
        assertThat(k.toString()).doesNotContain(Bytes.hex(k.privateKey())).contains(Bytes.hex(k.publicKey()));
    }
}
