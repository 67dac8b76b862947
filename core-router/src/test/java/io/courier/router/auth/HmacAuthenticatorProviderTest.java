package io.courier.router.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.awaitility.Awaitility.await;

import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.memory.InMemoryStorageProvider;
import io.courier.transport.proto.Error.Code;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hmac plug-in as a server runs it: keys in the data directory, revocations in storage, and
 * the requests a command leaves for the running server, taken within a second.
 */
class HmacAuthenticatorProviderTest {

    private static final Duration PATIENCE = Duration.ofSeconds(10);
    private static final long HOUR = 3_600_000;

    @TempDir
    Path dataDir;

    private StorageBackend storage;
    private HmacTokenAuthenticator hmac;
    /** What the router was asked to close, as "user cutoff". */
    private final List<String> signedOut = new CopyOnWriteArrayList<>();
    private final SignedInSessions signedIn = (user, issuedBeforeMs, text) -> {
        signedOut.add(user + " " + issuedBeforeMs);
        assertThat(text).contains("Your token was revoked");
        return 1;
    };

    @BeforeEach
    void openStorage() {
        storage = new InMemoryStorageProvider().open(new StorageConfig(dataDir, Map.of()));
    }

    @AfterEach
    void close() {
        if (hmac != null) {
            hmac.close();
        }
        storage.close();
    }

    private HmacTokenAuthenticator start() {
        hmac = new HmacAuthenticatorProvider().create(new AuthenticatorContext(dataDir, Map.of(), storage.revocations(),
            signedIn));
        return hmac;
    }

    private Path keyDir() {
        return dataDir.resolve("auth-keys");
    }

    private String token(String user, long issuedMs) {
        return HmacTokenAuthenticator.mint(HmacKeyring.read(keyDir()), user, "*", issuedMs, issuedMs + HOUR);
    }

    private AuthResult hello(String user, String token) {
        return hmac.authenticate(user, "1", token, System.currentTimeMillis());
    }

    @Test
    void shouldStoreAndApplyARevocationAskedOfTheRunningServer() throws Exception {
        start();
        long now = System.currentTimeMillis();
        String old = token("alice", now - 1);
        String bobs = token("bob", now - 1);
        assertThat(AuthRequests.serverRunning(dataDir)).isTrue();

        Path request = AuthRequests.submit(dataDir, new AuthRequests.Request.Revoke("alice", now));
        assertThat(AuthRequests.awaitTaken(request, PATIENCE)).as("done, no failure").isEmpty();

        assertThat(storage.revocations().tokensRevokedBefore("alice")).hasValue(now);
        // Once at once, and once more a tick later for a hello that was being checked meanwhile.
        assertThat(signedOut).as("alice's open sessions are closed too").isNotEmpty().containsOnly("alice " + now);
        await().atMost(10, SECONDS).until(() -> signedOut.size() == 2);
        AuthResult refused = hello("alice", old);
        assertThat(refused.code()).isEqualTo(Code.AUTH_FAILED);
        assertThat(refused.reason()).contains("revoked");
        assertThat(hello("alice", token("alice", now)).verified()).as("a token minted since").isTrue();
        assertThat(hello("bob", bobs).verified()).isTrue();

        hmac.close();
        hmac = null;
        assertThat(AuthRequests.serverRunning(dataDir)).as("the lock goes with the server").isFalse();
    }

    @Test
    void shouldDoRequestsLeftWhileNoServerRanBeforeItChecksAnyHello() {
        long now = System.currentTimeMillis();
        HmacKeyring.prepare(keyDir(), null);
        String old = token("alice", now - 1);
        assertThat(AuthRequests.serverRunning(dataDir)).isFalse();
        Path request = AuthRequests.submit(dataDir, new AuthRequests.Request.Revoke("alice", now));

        start();
        assertThat(request).doesNotExist();
        assertThat(hello("alice", old).reason()).contains("revoked");
        assertThat(storage.revocations().tokensRevokedBefore("alice")).hasValue(now);
    }

    @Test
    void shouldRefuseTokensRevokedInStorageByAnEarlierRun() {
        long now = System.currentTimeMillis();
        storage.revocations().revokeTokensBefore("alice", now);
        start();
        assertThat(hello("alice", token("alice", now - 1)).reason()).contains("revoked");
    }

    @Test
    void shouldTakeARotatedKeyAndDropARetiredOneWhenAskedToReadTheKeysAgain() throws Exception {
        start();
        long now = System.currentTimeMillis();
        String signedByKey1 = token("alice", now);
        HmacKeyring.rotate(keyDir());
        String signedByKey2 = token("alice", now);
        assertThat(signedByKey2).startsWith("v2:2:");
        assertThat(AuthRequests.awaitTaken(AuthRequests.submit(dataDir, new AuthRequests.Request.ReloadKeys()), PATIENCE))
            .isEmpty();
        assertThat(hello("alice", signedByKey2).verified()).isTrue();
        assertThat(hello("alice", signedByKey1).verified()).as("until it is retired").isTrue();

        HmacKeyring.retire(keyDir(), 1);
        assertThat(AuthRequests.awaitTaken(AuthRequests.submit(dataDir, new AuthRequests.Request.ReloadKeys()), PATIENCE))
            .isEmpty();
        assertThat(hello("alice", signedByKey1).reason()).contains("key 1, which this server does not hold");
        assertThat(hello("alice", signedByKey2).verified()).isTrue();
    }

    @Test
    void shouldRefuseASecondServerOnTheSameDataDirectoryNamingTheLock() {
        start();
        assertThatThrownBy(() -> AuthRequests.claim(dataDir, Duration.ofMillis(200)))
            .isInstanceOf(IllegalStateException.class)
            .hasMessageContaining(dataDir.resolve("auth-requests/server.lock").toString())
            .hasMessageContaining("another Courier server running on this data-dir");
    }

    @Test
    void shouldMarkARequestItCannotReadFailedWithTheReason() throws Exception {
        start();
        Path dir = AuthRequests.directoryOf(dataDir);
        Path request = Files.writeString(dir.resolve("0000000000000000-00000000.request"), "revoke alice soon\n");
        assertThat(AuthRequests.awaitTaken(request, PATIENCE)).hasValueSatisfying(reason ->
            assertThat(reason).contains("not a request").contains("revoke alice soon"));
        assertThat(request).doesNotExist();
    }

    @Test
    void shouldDescribeWhereItsKeysAreAndHowLongTokensLive() {
        assertThat(new HmacAuthenticatorProvider().describe(dataDir, Map.of("max-token-ttl", "PT12H")))
            .isEqualTo("HMAC-SHA256 tokens signed with the keys in " + keyDir() + ", living at most PT12H");
    }
}
