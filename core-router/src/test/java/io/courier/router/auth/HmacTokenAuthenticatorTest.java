package io.courier.router.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.courier.transport.proto.Error.Code;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class HmacTokenAuthenticatorTest {

    private static final long NOW_MS = 1_800_000_000_000L;
    private final byte[] secret = filled(7);
    private final HmacTokenAuthenticator hmac = new HmacTokenAuthenticator(secret);

    @Test
    void shouldAcceptAFreshTokenForItsOwnUser() {
        String token = hmac.mint("alice", NOW_MS / 1000 + 60);
        assertThat(hmac.authenticate("alice", "1", token, NOW_MS).verified()).isTrue();
    }

    @Test
    void shouldRefuseExpiredTokenWithItsOwnCode() {
        String token = hmac.mint("alice", NOW_MS / 1000 - 1);
        AuthResult result = hmac.authenticate("alice", "1", token, NOW_MS);
        assertThat(result.verified()).isFalse();
        assertThat(result.code()).isEqualTo(Code.TOKEN_EXPIRED);
    }

    @Test
    void shouldRefuseTokenSignedWithAnotherSecret() {
        String forged = new HmacTokenAuthenticator(filled(8)).mint("alice", NOW_MS / 1000 + 60);
        assertThat(hmac.authenticate("alice", "1", forged, NOW_MS).code()).isEqualTo(Code.AUTH_FAILED);
    }

    @Test
    void shouldRefuseAnotherUsersTokenAndTamperedExpiry() {
        String bobs = hmac.mint("bob", NOW_MS / 1000 + 60);
        assertThat(hmac.authenticate("alice", "1", bobs, NOW_MS).code()).isEqualTo(Code.AUTH_FAILED);
        String extended = bobs.replaceFirst(":\\d+:", ":" + (NOW_MS / 1000 + 999_999) + ":");
        assertThat(hmac.authenticate("bob", "1", extended, NOW_MS).code()).isEqualTo(Code.AUTH_FAILED);
    }

    @Test
    void shouldRefuseMalformedAndEmptyTokens() {
        for (String token : new String[] {"", "garbage", "alice:notanumber:sig", "::", "alice:1:%%%"}) {
            AuthResult result = hmac.authenticate("alice", "1", token, NOW_MS);
            assertThat(result.verified()).as(token).isFalse();
            assertThat(result.code()).as(token).isEqualTo(Code.AUTH_FAILED);
            assertThat(result.reason()).as(token).isNotBlank();
        }
    }

    @Test
    void shouldRefuseShortSecrets() {
        assertThatThrownBy(() -> new HmacTokenAuthenticator(new byte[16])).hasMessageContaining("32");
    }

    private static byte[] filled(int value) {
        byte[] bytes = new byte[32];
        Arrays.fill(bytes, (byte) value);
        return bytes;
    }
}
