package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

import io.courier.transport.TransportClient;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Error.Code;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may act as a user: tokens that are revoked, too long-lived, signed by a retired key or bound
 * to another device are refused, and a long-polling session works only for whoever opened it —
 * through the real executable where a person would use it, while a pair of bystanders keeps
 * chatting unaffected.
 */
class IdentityTest {

    private static final long HOUR = 3_600_000;

    @TempDir
    Path dir;

    private static ServerProcess.Result cli(Path workDir, ServerProcess server, String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--set", "data-dir=" + server.dataDir));
        return ServerProcess.run(workDir, all.toArray(String[]::new));
    }

    /** A token from the executable's {@code token} command. */
    private String mintedByTheCommand(ServerProcess server, String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("token"));
        all.addAll(List.of(args));
        ServerProcess.Result minted = cli(dir, server, all.toArray(String[]::new));
        assertThat(minted.exitStatus()).as(minted.stderr()).isZero();
        return minted.stdout().strip();
    }

    /** A bystander pair chatting every 50 ms on the server at {@code address}, warmed up. */
    private static Bystanders bystanders(TransportClient tcp, URI address, ServerConfig config) throws Exception {
        return new Bystanders(address, user -> Main.mint(config, user, "*", Duration.ofHours(1)), 50).start();
    }

    /** Says hello with {@code token} and expects a fatal refusal. */
    private static Error refused(TransportClient tcp, URI address, String user, String device, String token)
        throws Exception {
        TestClient client = new TestClient(tcp, address, user, device, token).connectOnly();
        client.sendHello(token);
        Error error = client.nextError();
        assertThat(error.getFatal()).isTrue();
        client.closedFuture().get(TestClient.TIMEOUT_SECONDS, SECONDS);
        return error;
    }

    @Test
    void shouldSignAUserOutWithTokenRevokeWhileOthersChat() throws Exception {
        try (ServerProcess server = new ServerProcess(dir).start();
             TransportClient tcp = TransportProviders.find("tcp").createClient(TransportSettings.of(0))) {
            String alices = mintedByTheCommand(server, "alice");
            String bobs = mintedByTheCommand(server, "bob");
            TestClient phone = new TestClient(tcp, server.address(), "alice", "phone", alices).connect();
            TestClient bob = new TestClient(tcp, server.address(), "bob", "1", bobs).connect();

            try (Bystanders bystanders = bystanders(tcp, server.address(), server.config())) {
                ServerProcess.Result revoke = cli(dir, server, "token", "revoke", "alice");
                assertThat(revoke.exitStatus()).as(revoke.stderr()).isZero();
                assertThat(revoke.stdout().strip()).startsWith("Tokens of alice issued before ")
                    .endsWith("are refused. The server running on " + server.dataDir + " has done so.");

                // Signed out everywhere: the connection her token opened is closed, bob's is not.
                Error signedOut = phone.nextError();
                assertThat(signedOut.getCode()).isEqualTo(Code.AUTH_FAILED);
                assertThat(signedOut.getText()).startsWith("Your token was revoked: tokens of 'alice' issued before ");
                assertThat(signedOut.getFatal()).isTrue();
                phone.closedFuture().get(TestClient.TIMEOUT_SECONDS, SECONDS);
                assertThat(bob.isOpen()).isTrue();
                assertThat(bob.errors).isEmpty();

                Error error = refused(tcp, server.address(), "alice", "1", alices);
                assertThat(error.getCode()).isEqualTo(Code.AUTH_FAILED);
                assertThat(error.getText()).startsWith("Token was revoked: tokens of 'alice' issued before ");

                // A token minted since the revocation lets alice in; bob's, minted before, is his own.
                new TestClient(tcp, server.address(), "alice", "1", mintedByTheCommand(server, "alice")).connect()
                    .disconnect();
                bob.disconnect();
                new TestClient(tcp, server.address(), "bob", "1", bobs).connect().disconnect();
                bystanders.check();
            }
            assertThat(server.logText()).containsPattern("Tokens of 'alice' issued before \\S+ are refused from now on; "
                + "1 open session closed");
        }
    }

    @Test
    void shouldApplyARevocationMadeWhileNoServerRanBeforeItAcceptsAConnection() throws Exception {
        try (ServerProcess server = new ServerProcess(dir);
             TransportClient tcp = TransportProviders.find("tcp").createClient(TransportSettings.of(0))) {
            server.start();
            String alices = mintedByTheCommand(server, "alice");
            assertThat(server.terminate()).isTrue();

            ServerProcess.Result revoke = cli(dir, server, "token", "revoke", "alice");
            assertThat(revoke.exitStatus()).as(revoke.stderr()).isZero();
            assertThat(revoke.stdout()).contains("No server is running on " + server.dataDir
                + ": it applies the revocation when it starts, before it accepts a connection.");

            server.start();
            try (Bystanders bystanders = bystanders(tcp, server.address(), server.config())) {
                assertThat(refused(tcp, server.address(), "alice", "1", alices).getText()).contains("revoked");
                bystanders.check();
            }
        }
    }

    @Test
    void shouldKeepTokensOfAnOldKeyWorkingUntilItIsRetired() throws Exception {
        try (ServerProcess server = new ServerProcess(dir).start();
             TransportClient tcp = TransportProviders.find("tcp").createClient(TransportSettings.of(0))) {
            String signedByKey1 = mintedByTheCommand(server, "alice");
            assertThat(signedByKey1).startsWith("v2:1:alice:*:");
            try (Bystanders bystanders = bystanders(tcp, server.address(), server.config())) {
                ServerProcess.Result rotate = cli(dir, server, "key", "rotate");
                assertThat(rotate.exitStatus()).as(rotate.stderr()).isZero();
                assertThat(rotate.stdout()).contains("Key 2 is the active key now")
                    .contains("The server running on " + server.dataDir + " has done so.");
                String signedByKey2 = mintedByTheCommand(server, "alice");
                assertThat(signedByKey2).startsWith("v2:2:alice:*:");

                ServerProcess.Result list = cli(dir, server, "key", "list");
                assertThat(list.stdout().lines().toList()).hasSize(2)
                    .satisfies(lines -> assertThat(lines.get(0)).startsWith("1\tcreated ").doesNotContain("active"))
                    .satisfies(lines -> assertThat(lines.get(1)).startsWith("2\tcreated ").endsWith("\tactive"));

                new TestClient(tcp, server.address(), "alice", "1", signedByKey1).connect().disconnect();
                new TestClient(tcp, server.address(), "alice", "1", signedByKey2).connect().disconnect();

                ServerProcess.Result active = cli(dir, server, "key", "retire", "2");
                assertThat(active.exitStatus()).isEqualTo(2);
                assertThat(active.errorLines()).containsExactly("courier: Key 2 is the active key, which signs new "
                    + "tokens: add a new one with 'courier-server key rotate' first, then retire 2");

                ServerProcess.Result retire = cli(dir, server, "key", "retire", "1");
                assertThat(retire.exitStatus()).as(retire.stderr()).isZero();
                assertThat(retire.stdout()).contains("Key 1 is retired").contains("has done so.");
                Error error = refused(tcp, server.address(), "alice", "1", signedByKey1);
                assertThat(error.getCode()).isEqualTo(Code.AUTH_FAILED);
                assertThat(error.getText()).startsWith("Token is signed with key 1, which this server does not hold");
                new TestClient(tcp, server.address(), "alice", "1", signedByKey2).connect().disconnect();
                bystanders.check();
            }
        }
    }

    @Test
    void shouldRefuseATokenBoundToADeviceOnAnyOther() throws Exception {
        try (ServerProcess server = new ServerProcess(dir).start();
             TransportClient tcp = TransportProviders.find("tcp").createClient(TransportSettings.of(0))) {
            String phones = mintedByTheCommand(server, "alice", "--device", "phone");
            assertThat(phones).startsWith("v2:1:alice:phone:");
            try (Bystanders bystanders = bystanders(tcp, server.address(), server.config())) {
                new TestClient(tcp, server.address(), "alice", "phone", phones).connect().disconnect();
                for (String other : List.of("laptop", "1")) {
                    Error error = refused(tcp, server.address(), "alice", other, phones);
                    assertThat(error.getCode()).isEqualTo(Code.AUTH_FAILED);
                    assertThat(error.getText()).isEqualTo("Token is bound to device 'phone', not '" + other + "'");
                }
                bystanders.check();
            }
        }
    }

    @Test
    void shouldRefuseTokensThatWouldLiveLongerThanTheMaximum() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dir, "auth.options.max-token-ttl=PT2H")) {
            try (Bystanders bystanders = new Bystanders(fixture, 50).start()) {
                long now = System.currentTimeMillis();
                for (long lifetime : List.of(2 * HOUR + 60_000, 36_500L * 24 * HOUR)) {
                    Error error = refused(fixture.client, fixture.tcp, "mallory", "1",
                        fixture.token("mallory", "*", now, now + lifetime));
                    assertThat(error.getCode()).isEqualTo(Code.AUTH_FAILED);
                    assertThat(error.getText()).startsWith("Token lifetime above the maximum")
                        .contains("PT2H (auth.options.max-token-ttl)");
                }
                // Issued long ago and expiring soon: it still lived longer than allowed.
                assertThat(refused(fixture.client, fixture.tcp, "mallory", "1",
                    fixture.token("mallory", "*", now - 3 * HOUR, now + HOUR)).getText())
                    .startsWith("Token lifetime above the maximum");
                new TestClient(fixture.client, fixture.tcp, "mallory", "1",
                    fixture.token("mallory", "*", now, now + 2 * HOUR)).connect().disconnect();
                bystanders.check();
            }
        }
    }

    @Test
    void shouldRefuseCommandLineMistakesInOneLineNamingWhatToChange() throws Exception {
        try (ServerProcess server = new ServerProcess(dir, "auth.options.max-token-ttl=P7D").start()) {
            assertRefused(cli(dir, server, "token", "alice", "--ttl", "P8D", "--set", "auth.options.max-token-ttl=P7D"),
                "courier: --ttl P8D is longer than tokens may live, P7D (auth.options.max-token-ttl): the server would "
                    + "refuse it; ask for P7D or less, or raise auth.options.max-token-ttl");
            assertRefused(cli(dir, server, "token", "alice", "--ttl", "P36500D"),
                "courier: --ttl P36500D is longer than tokens may live, P30D (auth.options.max-token-ttl): the server "
                    + "would refuse it; ask for P30D or less, or raise auth.options.max-token-ttl");
            assertRefused(cli(dir, server, "token", "alice", "--ttl", "PT0S"),
                "courier: --ttl PT0S must be above zero, e.g. P7D or PT12H");
            assertRefused(cli(dir, server, "token", "alice", "--device", "ph:one"),
                "courier: --device 'ph:one' is not a device id: 1-64 characters of [A-Za-z0-9._-], not starting with '.'");
            assertRefused(cli(dir, server, "token", "revoke", "alice", "--before", "2999-01-01T00:00:00Z"),
                "courier: --before 2999-01-01T00:00:00Z is in the future: a revocation refuses tokens issued before a "
                    + "time that has come; give one up to now, or leave --before out for now");
            assertRefused(cli(dir, server, "key", "retire", "9"), "courier: There is no key 9 in "
                + server.dataDir.resolve("auth-keys") + "; its keys: 1");
            assertRefused(cli(dir, server, "token"), "courier: token needs the USER to mint a token for, e.g. "
                + "'courier-server token alice'; 'courier-server token revoke USER' signs one out");
            assertRefused(ServerProcess.run(dir, "key"),
                "courier: key needs a sub-command: rotate, list or retire KID (courier-server key --help)");
            assertRefused(cli(dir, server, "token", "revoke", "alice", "--set", "auth.mode=insecure"),
                "courier: auth.mode is 'insecure', not 'hmac': this server does not check HMAC tokens, so there are no "
                    + "tokens to revoke");
        }
    }

    private static void assertRefused(ServerProcess.Result result, String line) {
        assertThat(result.exitStatus()).as(result.stderr()).isEqualTo(2);
        assertThat(result.errorLines()).containsExactly(line);
        assertThat(result.stdout()).isEmpty();
    }

    @Test
    void shouldRefuseALongPollingSessionUsedWithoutItsSecretAndLeaveItToItsOwner() throws Exception {
        Pattern session = Pattern.compile("\"session\":\"([^\"]+)\",\"secret\":\"([^\"]+)\"");
        try (ServerFixture fixture = new ServerFixture(dir);
             Bystanders bystanders = new Bystanders(fixture, 50).start()) {
            URI base = fixture.server.address("longpoll");
            HttpClient owner = HttpClient.newHttpClient();
            HttpClient intruder = HttpClient.newHttpClient();
            HttpResponse<String> opened = owner.send(HttpRequest.newBuilder(URI.create(base + "/sessions?format=json"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            Matcher m = session.matcher(opened.body());
            assertThat(m.find()).as(opened.body()).isTrue();
            String at = base + "/sessions/" + m.group(1);
            String secret = m.group(2);
            String hello = "[{\"hello\":{\"user\":\"alice\",\"token\":\"" + fixture.token("alice") + "\"}}]";
            assertThat(post(owner, at, secret, hello).statusCode()).isEqualTo(204);

            // The intruder knows the session's URL but not its secret: nothing it sends gets through.
            String sneaky = "[{\"send\":{\"clientMessageId\":\"x\",\"recipient\":\"bob\",\"payload\":\"aGk=\"}}]";
            List<HttpResponse<String>> refused = List.of(
                intruder.send(HttpRequest.newBuilder(URI.create(at + "/poll?cursor=0")).GET().build(),
                    HttpResponse.BodyHandlers.ofString()),
                post(intruder, at, null, sneaky),
                post(intruder, at, "not-" + secret, sneaky),
                intruder.send(HttpRequest.newBuilder(URI.create(at)).DELETE().build(), HttpResponse.BodyHandlers.ofString()));
            for (HttpResponse<String> response : refused) {
                assertThat(response.statusCode()).isEqualTo(403);
                assertThat(response.body()).contains("\"code\":\"AUTH_FAILED\"").contains("X-Courier-Session-Secret");
            }

            HttpResponse<String> poll = owner.send(HttpRequest.newBuilder(URI.create(at + "/poll?cursor=0"))
                .header("X-Courier-Session-Secret", secret).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(poll.statusCode()).isEqualTo(200);
            assertThat(poll.body()).contains("\"welcome\"").doesNotContain("\"accepted\"");
            bystanders.check();
        }
    }

    private static HttpResponse<String> post(HttpClient http, String session, String secret, String json) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(session + "/frames"))
            .header("Content-Type", "application/json");
        if (secret != null) {
            request.header("X-Courier-Session-Secret", secret);
        }
        return http.send(request.POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
