package io.courier.router.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.courier.transport.proto.Error.Code;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HmacTokenAuthenticatorTest {

    private static final long NOW_MS = 1_800_000_000_000L;
    private static final long MINUTE = 60_000;
    private static final long DAY = 24 * 60 * MINUTE;

    @TempDir
    Path dir;

    private Path keyDir;
    private final AtomicReference<HmacKeyring> keys = new AtomicReference<>();
    private final Map<String, Long> revoked = new ConcurrentHashMap<>();
    private HmacTokenAuthenticator hmac;

    @BeforeEach
    void keyring() {
        keyDir = dir.resolve("auth-keys");
        keys.set(HmacKeyring.prepare(keyDir, null).keys());
        hmac = new HmacTokenAuthenticator(keys::get, revoked, Duration.ofDays(30), null);
    }

    private String mint(String user, String device, long issuedMs, long expiresMs) {
        return HmacTokenAuthenticator.mint(keys.get(), user, device, issuedMs, expiresMs);
    }

    private AuthResult hello(String user, String device, String token) {
        return hmac.authenticate(user, device, token, NOW_MS);
    }

    @Test
    void shouldAcceptAFreshTokenForItsOwnUserOnAnyDeviceWhenBoundToNone() {
        String token = mint("alice", "*", NOW_MS, NOW_MS + MINUTE);
        assertThat(token).startsWith("v2:1:alice:*:" + NOW_MS + ":" + (NOW_MS + MINUTE) + ":");
        assertThat(hello("alice", "1", token).verified()).isTrue();
        assertThat(hello("alice", "laptop", token).verified()).isTrue();
    }

    @Test
    void shouldRefuseAnExpiredTokenWithItsOwnCode() {
        AuthResult result = hello("alice", "1", mint("alice", "*", NOW_MS - DAY, NOW_MS));
        assertThat(result.verified()).isFalse();
        assertThat(result.code()).isEqualTo(Code.TOKEN_EXPIRED);
        assertThat(result.reason()).contains("expired at");
    }

    @Test
    void shouldRefuseATokenSignedWithAnotherKeyring() {
        HmacKeyring other = HmacKeyring.prepare(dir.resolve("elsewhere"), null).keys();
        String forged = HmacTokenAuthenticator.mint(other, "alice", "*", NOW_MS, NOW_MS + MINUTE);
        assertThat(hello("alice", "1", forged).reason()).isEqualTo("Token signature does not verify");
    }

    @Test
    void shouldRefuseAnotherUsersTokenAndEveryTamperedField() {
        String bobs = mint("bob", "*", NOW_MS, NOW_MS + MINUTE);
        assertThat(hello("alice", "1", bobs).reason()).isEqualTo("Token was issued for another user than 'alice'");
        String[] fields = bobs.split(":");
        for (int field = 1; field <= 5; field++) {
            String[] changed = fields.clone();
            changed[field] = switch (field) {
                case 1 -> "2";
                case 2 -> "alice";
                case 3 -> "1";
                default -> Long.toString(Long.parseLong(fields[field]) + 1);
            };
            AuthResult result = hello(changed[2], "1", String.join(":", changed));
            assertThat(result.verified()).as("field %d changed", field).isFalse();
            assertThat(result.code()).isEqualTo(Code.AUTH_FAILED);
        }
    }

    @Test
    void shouldRefuseMalformedAndEmptyTokens() {
        for (String token : new String[] {"", "garbage", "alice:notanumber:sig", "::", "alice:1:%%%", "v2:1:alice:*:1:2",
            "v2:x:alice:*:1:2:sig", "v2:1::*:1:2:sig", "v2:1:alice::1:2:sig", "v2:1:alice:*:1:2:%%%", "v3:1:a:*:1:2:s"}) {
            AuthResult result = hello("alice", "1", token);
            assertThat(result.verified()).as(token).isFalse();
            assertThat(result.code()).as(token).isEqualTo(Code.AUTH_FAILED);
            assertThat(result.reason()).as(token).isNotBlank();
        }
        assertThat(hello("alice", "1", "").reason()).contains("carries no token");
        assertThat(hello("alice", "1", "garbage").reason()).startsWith("Malformed token: expected v2:key:user:device");
    }

    @Test
    void shouldRefuseATokenBoundToAnotherDevice() {
        String phones = mint("alice", "phone", NOW_MS, NOW_MS + MINUTE);
        assertThat(hello("alice", "phone", phones).verified()).isTrue();
        AuthResult laptop = hello("alice", "laptop", phones);
        assertThat(laptop.code()).isEqualTo(Code.AUTH_FAILED);
        assertThat(laptop.reason()).isEqualTo("Token is bound to device 'phone', not 'laptop'");
    }

    @Test
    void shouldRefuseATokenThatWouldLiveLongerThanTheMaximum() {
        assertThat(hello("alice", "1", mint("alice", "*", NOW_MS, NOW_MS + 30 * DAY)).verified())
            .as("exactly the maximum").isTrue();
        AuthResult longer = hello("alice", "1", mint("alice", "*", NOW_MS, NOW_MS + 30 * DAY + 1));
        assertThat(longer.code()).isEqualTo(Code.AUTH_FAILED);
        assertThat(longer.reason()).startsWith("Token lifetime above the maximum").contains("P30D")
            .contains("auth.options.max-token-ttl");
        // Issued long ago with an expiry near: its lifetime from issue to expiry is what counts.
        assertThat(hello("alice", "1", mint("alice", "*", NOW_MS - 40 * DAY, NOW_MS + DAY)).reason())
            .startsWith("Token lifetime above the maximum");
        // A hundred years, as tokens could once be minted for.
        assertThat(hello("alice", "1", mint("alice", "*", NOW_MS, NOW_MS + 36_500 * DAY)).reason())
            .startsWith("Token lifetime above the maximum");
        assertThat(hello("alice", "1", mint("alice", "*", Long.MIN_VALUE, Long.MAX_VALUE)).verified()).isFalse();
    }

    @Test
    void shouldRefuseATokenIssuedAheadOfTheServersClock() {
        assertThat(hello("alice", "1", mint("alice", "*", NOW_MS + HmacTokenAuthenticator.CLOCK_SKEW_MS, NOW_MS + DAY))
            .verified()).as("within the allowed skew").isTrue();
        AuthResult ahead = hello("alice", "1", mint("alice", "*", NOW_MS + 2 * HmacTokenAuthenticator.CLOCK_SKEW_MS,
            NOW_MS + DAY));
        assertThat(ahead.code()).isEqualTo(Code.AUTH_FAILED);
        assertThat(ahead.reason()).contains("ahead of this server's clock");
    }

    @Test
    void shouldRefuseTokensIssuedBeforeTheUsersRevocationAndNoOthers() {
        String before = mint("alice", "*", NOW_MS - MINUTE - 1, NOW_MS + DAY);
        String at = mint("alice", "*", NOW_MS - MINUTE, NOW_MS + DAY);
        String bobs = mint("bob", "*", NOW_MS - DAY, NOW_MS + DAY);
        revoked.put("alice", NOW_MS - MINUTE);

        AuthResult refused = hello("alice", "1", before);
        assertThat(refused.code()).isEqualTo(Code.AUTH_FAILED);
        assertThat(refused.reason()).startsWith("Token was revoked: tokens of 'alice' issued before ");
        assertThat(hello("alice", "1", at).verified()).as("issued at the cutoff").isTrue();
        assertThat(hello("bob", "1", bobs).verified()).as("another user").isTrue();
    }

    @Test
    void shouldVerifyTokensOfAnOldKeyUntilItIsRetired() {
        String old = mint("alice", "*", NOW_MS, NOW_MS + DAY);
        assertThat(HmacKeyring.rotate(keyDir)).isEqualTo(2);
        keys.set(HmacKeyring.read(keyDir));
        String fresh = mint("alice", "*", NOW_MS, NOW_MS + DAY);
        assertThat(fresh).startsWith("v2:2:");
        assertThat(hello("alice", "1", old).verified()).as("key 1 still verifies").isTrue();
        assertThat(hello("alice", "1", fresh).verified()).isTrue();

        HmacKeyring.retire(keyDir, 1);
        keys.set(HmacKeyring.read(keyDir));
        AuthResult retired = hello("alice", "1", old);
        assertThat(retired.code()).isEqualTo(Code.AUTH_FAILED);
        assertThat(retired.reason()).startsWith("Token is signed with key 1, which this server does not hold");
        assertThat(hello("alice", "1", fresh).verified()).isTrue();
    }

    @Test
    void shouldAcceptFirstFormatTokensWithKey1UntilRevokedTooLongOrRetired() throws Exception {
        byte[] key1 = Files.readAllBytes(keyDir.resolve("1.key"));
        String legacy = firstFormat(key1, "alice", NOW_MS / 1000 + 3600);
        assertThat(hello("alice", "1", legacy).verified()).isTrue();
        assertThat(hello("alice", "phone", legacy).verified()).as("bound to no device").isTrue();
        assertThat(hello("bob", "1", legacy).verified()).isFalse();
        assertThat(hello("alice", "1", firstFormat(key1, "alice", NOW_MS / 1000 - 1)).code()).isEqualTo(Code.TOKEN_EXPIRED);
        assertThat(hello("alice", "1", firstFormat(key1, "alice", NOW_MS / 1000 + 3_153_600_000L)).reason())
            .as("a hundred years").startsWith("Token lifetime above the maximum");

        revoked.put("alice", 1L);
        assertThat(hello("alice", "1", legacy).reason()).as("it carries no issue time").contains("revoked");
        revoked.clear();

        HmacKeyring.rotate(keyDir);
        HmacKeyring.retire(keyDir, 1);
        keys.set(HmacKeyring.read(keyDir));
        assertThat(hello("alice", "1", legacy).reason()).contains("key 1 was retired");
    }

    @Test
    void shouldReproduceTheWorkedExamplesOfTheProtocolDocument() throws Exception {
        Path documented = dir.resolve("documented");
        Files.createDirectories(documented);
        byte[] secret = new byte[32];
        for (int i = 0; i < secret.length; i++) {
            secret[i] = (byte) i;
        }
        Files.write(documented.resolve("1.key"), secret);
        Files.setPosixFilePermissions(documented.resolve("1.key"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        HmacKeyring keyring = HmacKeyring.read(documented);
        assertThat(HmacTokenAuthenticator.mint(keyring, "alice", "*", 4_102_358_400_000L, 4_102_444_800_000L))
            .isEqualTo("v2:1:alice:*:4102358400000:4102444800000:dIjGOE0E5YF3kLnuZntsp8pbYAfITClz5Uhj9TMEamQ");
        assertThat(HmacTokenAuthenticator.mint(keyring, "bob", "phone", 4_102_358_400_000L, 4_102_444_800_000L))
            .isEqualTo("v2:1:bob:phone:4102358400000:4102444800000:VjRK_YU80NsX2xoqYyR8kP4gwrX0ioPQgUFlAybBr7w");
        assertThat(firstFormat(secret, "alice", 4_102_444_800L))
            .isEqualTo("alice:4102444800:zGaJgaNICafli5rfRcnSWdDzbgdiCLRF2BDHyxmejYI");
        HmacTokenAuthenticator documentedServer = new HmacTokenAuthenticator(() -> keyring, Map.of(), Duration.ofDays(30), null);
        assertThat(documentedServer.authenticate("alice", "1",
            "v2:1:alice:*:4102358400000:4102444800000:dIjGOE0E5YF3kLnuZntsp8pbYAfITClz5Uhj9TMEamQ",
            4_102_400_000_000L).verified()).isTrue();
    }

    @Test
    void shouldRefuseToMintForAMalformedUserOrDeviceOrWithoutKeys() {
        assertThatThrownBy(() -> mint("al:ice", "*", NOW_MS, NOW_MS + 1)).hasMessageContaining("'al:ice' is not a user id");
        assertThatThrownBy(() -> mint("alice", "ph:one", NOW_MS, NOW_MS + 1)).hasMessageContaining("'ph:one' is not a device id");
        HmacKeyring none = HmacKeyring.read(dir.resolve("none"));
        assertThatThrownBy(() -> HmacTokenAuthenticator.mint(none, "alice", "*", NOW_MS, NOW_MS + 1))
            .hasMessageContaining("no HMAC key");
    }

    /** A token of the first format, as a client of that time minted it. */
    private static String firstFormat(byte[] key, String user, long expiresSeconds) {
        String body = user + ":" + expiresSeconds;
        return body + ":" + Base64.getUrlEncoder().withoutPadding()
            .encodeToString(HmacTokenAuthenticator.sign(key, body));
    }

    @Test
    void shouldSignOverUtf8OfTheTextBeforeTheLastColon() {
        String token = mint("alice", "*", NOW_MS, NOW_MS + MINUTE);
        String body = token.substring(0, token.lastIndexOf(':'));
        byte[] expected = HmacTokenAuthenticator.sign(keys.get().secret(1).orElseThrow(), body);
        assertThat(Base64.getUrlDecoder().decode(token.substring(token.lastIndexOf(':') + 1))).isEqualTo(expected);
    }

    @Test
    void shouldSignWithTheKeyAskedForWhenKeysAlternateOnOneThreadAndAcrossThreads() throws Exception {
        byte[] one = new byte[HmacKeyring.MIN_KEY_BYTES];
        byte[] two = new byte[HmacKeyring.MIN_KEY_BYTES];
        java.util.Arrays.fill(two, (byte) 7);
        // Equal bytes in another array: the per-thread Mac is not fooled either way.
        byte[] oneAgain = one.clone();
        for (byte[] key : new byte[][] {one, two, one, oneAgain, two, two, oneAgain}) {
            assertThat(HmacTokenAuthenticator.sign(key, "body")).isEqualTo(reference(key, "body"));
        }
        String fresh = mint("alice", "*", NOW_MS, NOW_MS + MINUTE);
        String forged = HmacTokenAuthenticator.mint(HmacKeyring.prepare(dir.resolve("elsewhere"), null).keys(),
            "alice", "*", NOW_MS, NOW_MS + MINUTE);
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            java.util.List<java.util.concurrent.Future<Boolean>> answers = new java.util.ArrayList<>();
            for (int i = 0; i < 400; i++) {
                String token = i % 2 == 0 ? fresh : forged;
                answers.add(threads.submit(() -> hello("alice", "1", token).verified()));
            }
            for (int i = 0; i < answers.size(); i++) {
                assertThat(answers.get(i).get(10, java.util.concurrent.TimeUnit.SECONDS)).as("hello %d", i)
                    .isEqualTo(i % 2 == 0);
            }
        } finally {
            threads.shutdownNow();
        }
    }

    private static byte[] reference(byte[] key, String body) throws Exception {
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        mac.init(new javax.crypto.spec.SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
