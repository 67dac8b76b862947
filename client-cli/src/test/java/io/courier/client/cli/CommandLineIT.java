package io.courier.client.cli;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.client.CourierClient;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The executable as a person runs it from any folder: options, token sources, mistakes, one-off commands. */
class CommandLineIT {

    @TempDir
    Path dir;

    /** What a finished run said and how it ended. */
    record Result(int exitStatus, String stdout, String stderr) {
    }

    /** Runs the jar in {@code dir} with HOME at {@code dir/home} and {@code env} on top of a clean environment. */
    private Result courier(Map<String, String> env, String... args) throws IOException, InterruptedException {
        Path home = Files.createDirectories(dir.resolve("home"));
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx256m", "-jar", TerminalChatIT.jar().toString()));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "stdout", ".txt");
        Path err = Files.createTempFile(dir, "stderr", ".txt");
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().keySet().removeIf(k -> k.startsWith("COURIER_") || k.equals("NO_COLOR"));
        builder.environment().put("HOME", home.toString());
        builder.environment().putAll(env);
        Process process = builder.start();
        if (!process.waitFor(60, SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(String.join(" ", args) + " did not exit within a minute");
        }
        return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
    }

    private Result courier(String... args) throws IOException, InterruptedException {
        return courier(Map.of(), args);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "chat", "send", "history", "unread", "last-seen", "privacy", "contacts"})
    void shouldPrintTheBuildsVersionOnEveryCommand(String command) throws Exception {
        Result result = command.isEmpty() ? courier("--version") : courier(command, "--version");

        assertThat(result.exitStatus()).isZero();
        assertThat(result.stdout()).isEqualTo("courier " + System.getProperty("courier.version") + System.lineSeparator());
        assertThat(result.stderr()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"chat", "send", "history", "unread", "last-seen", "privacy", "contacts"})
    void shouldExplainEveryCommandAndWhereTheTokenComesFrom(String command) throws Exception {
        Result result = courier(command, "--help");

        assertThat(result.exitStatus()).isZero();
        assertThat(result.stdout()).startsWith("Usage: courier " + command).contains("--user", "--server",
            "--token", "--mint-from", "COURIER_TOKEN", "~/.courier/token", "--help", "--version");
    }

    @Test
    void shouldRefuseAnUnknownOptionInOneLineNamingIt() throws Exception {
        Result result = courier("unread", "--user", "alice", "--colour");

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.stderr().lines()).containsExactly(
            "courier unread: Unknown option: '--colour' (see 'courier unread --help')");
    }

    @Test
    void shouldAskWhoYouAreWhenNoUserIsGiven() throws Exception {
        Result result = courier("history", "bob");

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.stderr().lines()).containsExactly("courier: who are you? pass --user USER (or set COURIER_USER)");
    }

    @Test
    void shouldSayEveryPlaceATokenCanComeFromWhenThereIsNone() throws Exception {
        Result result = courier("send", "--user", "alice", "bob", "hi");

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.stderr().lines()).singleElement().asString()
            .startsWith("courier: no token for alice: pass --token TOKEN, set COURIER_TOKEN, or put it in "
                + dir.resolve("home/.courier/token"))
            .contains("courier-server token alice", "--mint-from");
        assertThat(dir.resolve("home/.courier/alice/1.db")).as("nothing was queued").doesNotExist();
    }

    @Test
    void shouldReadNothingAndCreateNoDatabaseForADeviceThatNeverRan() throws Exception {
        Result unread = courier("unread", "--user", "carol", "dave");
        Result history = courier("history", "--user", "carol", "dave");

        assertThat(unread.exitStatus()).isZero();
        assertThat(unread.stdout()).isEqualTo("0" + System.lineSeparator());
        assertThat(history.exitStatus()).isZero();
        assertThat(history.stderr()).startsWith("courier: no messages with dave: "
            + dir.resolve("home/.courier/carol/1.db") + " does not exist");
        assertThat(dir.resolve("home/.courier/carol")).doesNotExist();
    }

    @Test
    void shouldNameABadServerAddress() throws Exception {
        Result result = courier("send", "--user", "alice", "--token", "t", "--server", "smtp://127.0.0.1:25", "bob", "hi");

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.stderr().lines()).containsExactly("courier: --server 'smtp://127.0.0.1:25' is not a server "
            + "address: use tcp://HOST:PORT, udp://HOST:PORT, ws://HOST:PORT/ws or http://HOST:PORT/lp");
    }

    @Test
    void shouldNameAFileToSendThatIsNotThere() throws Exception {
        Result result = courier("send", "--user", "alice", "--token", "t", "bob", "--file", "missing.png");

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.stderr().lines()).containsExactly("courier: --file missing.png: no such file");
        assertThat(dir.resolve("home/.courier/alice")).doesNotExist();
    }

    @Test
    void shouldRefuseTextAndAFileInOneSend() throws Exception {
        Path file = Files.writeString(dir.resolve("note.txt"), "x");
        Result both = courier("send", "--user", "alice", "--token", "t", "bob", "--file", file.toString(), "hi");
        Result neither = courier("send", "--user", "alice", "--token", "t", "bob");

        assertThat(both.exitStatus()).isEqualTo(2);
        assertThat(both.stderr().lines()).containsExactly("courier: give either TEXT or --file FILE, not both");
        assertThat(neither.exitStatus()).isEqualTo(2);
        assertThat(neither.stderr().lines()).containsExactly("courier: nothing to send: give TEXT, or --file FILE");
    }

    @Test
    void shouldNameTheKeyDirectoryWhenMintingFromAFolderWithoutKeys() throws Exception {
        Result result = courier("send", "--user", "alice", "--mint-from", dir.resolve("nothing").toString(), "bob", "hi");

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.stderr().lines()).singleElement().asString()
            .startsWith("courier: --mint-from: ").contains(dir.resolve("nothing/auth-keys").toString());
    }

    @Test
    void shouldSendWithTokensFromEachSourceAndShowHistoryAndUnreadFromTheLocalDatabase() throws Exception {
        try (LocalServer server = new LocalServer(dir).start()) {
            String address = server.address().toString();
            Files.writeString(Files.createDirectories(dir.resolve("home/.courier")).resolve("token"), server.token("alice"));
            Path tokenFile = Files.writeString(dir.resolve("alice.token"), server.token("alice") + "\n");

            Result fromHome = courier("send", "--user", "alice", "--server", address, "bob", "from", "the", "home", "file");
            Result fromEnvironment = courier(Map.of("COURIER_TOKEN", server.token("alice"), "COURIER_USER", "alice",
                "COURIER_SERVER", address), "send", "bob", "from the environment");
            Result minted = courier("send", "--user", "alice", "--server", address, "--mint-from",
                server.dataDir.toString(), "bob", "minted");
            for (Result r : List.of(fromHome, fromEnvironment, minted)) {
                assertThat(r.exitStatus()).as(r.stderr()).isZero();
            }
            assertThat(fromHome.stdout()).endsWith("alice \u2192 bob: from the home file  \u2713" + System.lineSeparator());
            assertThat(courier("history", "--user", "alice", "bob").stdout().lines().map(l -> l.substring(17)))
                .containsExactly("alice \u2192 bob: from the home file  \u2713", "alice \u2192 bob: from the environment  \u2713",
                    "alice \u2192 bob: minted  \u2713");

            // Bob's device (an SDK client on the database the executable would use) receives them.
            try (CourierClient bob = CourierClient.builder().server(server.address()).user("bob")
                    .token(() -> server.token("bob")).database(dir.resolve("home/.courier/bob/1.db")).build()) {
                await().atMost(60, SECONDS).until(() -> bob.history("alice").size() == 3);
                Result delivered = courier("send", "--user", "alice", "--server", address, "--token-file",
                    tokenFile.toString(), "--wait", "delivered", "bob", "last");
                assertThat(delivered.exitStatus()).as(delivered.stderr()).isZero();
                assertThat(delivered.stdout()).endsWith("alice \u2192 bob: last  \u2713\u2713" + System.lineSeparator());
                await().atMost(60, SECONDS).until(() -> bob.history("alice").size() == 4);
            }
            server.stop();

            Result unread = courier("unread", "--user", "bob");
            Result unreadOfAlice = courier("unread", "--user", "bob", "alice");
            Result history = courier("history", "--user", "bob", "--limit", "2", "alice");
            assertThat(unread.stdout()).isEqualTo("alice 4" + System.lineSeparator());
            assertThat(unreadOfAlice.stdout()).isEqualTo("4" + System.lineSeparator());
            assertThat(history.stdout().lines().map(l -> l.substring(17))).containsExactly("alice: minted", "alice: last");
        }
    }

    @Test
    void shouldSayWhetherAUserIsOnlineOrWhenLastSeenAsFarAsTheirPrivacySettingsShowIt() throws Exception {
        try (LocalServer server = new LocalServer(dir).start()) {
            String address = server.address().toString();
            String[] asAlice = {"--user", "alice", "--server", address, "--token", server.token("alice")};
            String[] asBob = {"--user", "bob", "--server", address, "--token", server.token("bob")};
            CourierClient bob = CourierClient.builder().server(server.address()).user("bob")
                .token(() -> server.token("bob")).database(dir.resolve("bob.db")).build();
            await().atMost(60, SECONDS).until(() -> bob.status().state() == io.courier.client.ConnectionState.CONNECTED);

            Result online = courier(with(asAlice, "last-seen", "bob"));
            assertThat(online.exitStatus()).as(online.stderr()).isZero();
            assertThat(online.stdout()).isEqualTo("bob: online" + System.lineSeparator());

            bob.close();
            await().atMost(60, SECONDS).until(() -> !courier(with(asAlice, "last-seen", "bob")).stdout().contains("online"));
            assertThat(courier(with(asAlice, "last-seen", "bob")).stdout())
                .matches("bob: last seen \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\R");
            assertThat(courier(with(asAlice, "last-seen", "carol")).stdout()).isEqualTo("carol: last seen unknown"
                + System.lineSeparator());

            Result contactsOnly = courier(with(asBob, "privacy", "contacts"));
            assertThat(contactsOnly.exitStatus()).as(contactsOnly.stderr()).isZero();
            assertThat(contactsOnly.stdout().lines()).containsExactly("presence shown to: contacts", "contacts: none");
            assertThat(courier(with(asAlice, "last-seen", "bob")).stdout()).isEqualTo("bob: last seen unknown"
                + System.lineSeparator());

            Result added = courier(with(asBob, "contacts", "add", "alice", "dave"));
            assertThat(added.stdout().lines()).containsExactly("alice", "dave");
            assertThat(courier(with(asAlice, "last-seen", "bob")).stdout()).startsWith("bob: last seen 2");
            assertThat(courier(with(asBob, "contacts", "remove", "dave")).stdout().lines()).containsExactly("alice");
            assertThat(courier(with(asBob, "privacy")).stdout().lines())
                .containsExactly("presence shown to: contacts", "contacts: alice");

            Result badSetting = courier(with(asBob, "privacy", "friends"));
            assertThat(badSetting.exitStatus()).isEqualTo(2);
            assertThat(badSetting.stderr().lines()).containsExactly(
                "courier: 'friends' is not a privacy setting: use everyone, contacts or nobody");
            Result badUser = courier(with(asAlice, "last-seen", "no/one"));
            assertThat(badUser.exitStatus()).isEqualTo(2);
            assertThat(badUser.stderr()).startsWith("courier: 'no/one' is not a user id");
        }
    }

    private static String[] with(String[] options, String... command) {
        List<String> all = new ArrayList<>(List.of(command));
        all.addAll(1, List.of(options));
        return all.toArray(String[]::new);
    }

    @Test
    void shouldSendAFileWithAProgressBarAndShowWhereEachDeviceKeepsIt() throws Exception {
        byte[] bytes = new byte[300_000];
        new java.util.Random(7).nextBytes(bytes);
        Path photo = Files.write(dir.resolve("photo.png"), bytes);
        try (LocalServer server = new LocalServer(dir).start()) {
            Result sent = courier("send", "--user", "alice", "--token", server.token("alice"), "--server",
                server.address().toString(), "bob", "--file", photo.toString());

            assertThat(sent.exitStatus()).as(sent.stderr()).isZero();
            // Not a terminal: a line at every tenth, the last one complete.
            assertThat(sent.stderr().lines().filter(l -> l.startsWith("photo.png ["))).hasSizeGreaterThan(1)
                .last().asString().contains("] 100% 293.0 KiB of 293.0 KiB");
            Path copy = dir.resolve("home/.courier/alice/1-media/sent");
            assertThat(sent.stdout()).contains("alice \u2192 bob: [image/png, 293.0 KiB: " + copy)
                .endsWith(".png]  \u2713" + System.lineSeparator());

            try (CourierClient bob = CourierClient.builder().server(server.address()).user("bob")
                    .token(() -> server.token("bob")).database(dir.resolve("home/.courier/bob/1.db")).build()) {
                await().atMost(60, SECONDS).until(() -> bob.history("alice").size() == 1);
                Path got = bob.download(bob.history("alice").get(0)).get(60, SECONDS);
                assertThat(got).hasBinaryContent(bytes).startsWith(dir.resolve("home/.courier/bob/1-media/received/alice"));
            }
            Result history = courier("history", "--user", "bob", "alice");
            assertThat(history.stdout()).contains("alice: [image/png, 293.0 KiB: " + dir.resolve(
                "home/.courier/bob/1-media/received/alice"));
        }
    }

    @Test
    void shouldPrintTheSameSafetyNumberForBothUsersAndEncryptAConversationWithASharedKey() throws Exception {
        try (LocalServer server = new LocalServer(dir).start()) {
            String address = server.address().toString();
            // bob's first run makes and publishes his keys, but alice has none yet: no number. alice's
            // run publishes hers and fetches his; bob's second sees hers.
            Result bobFirst = courier("safety-number", "--user", "bob", "--token", server.token("bob"), "--server",
                address, "alice");
            assertThat(bobFirst.exitStatus()).as(bobFirst.stdout()).isEqualTo(1);
            assertThat(bobFirst.stderr()).contains("alice has no device with published keys");
            Result alice = courier("safety-number", "--user", "alice", "--token", server.token("alice"), "--server",
                address, "bob");
            Result bob = courier("safety-number", "--user", "bob", "--token", server.token("bob"), "--server",
                address, "alice");
            assertThat(alice.exitStatus()).as(alice.stderr()).isZero();
            assertThat(alice.stdout()).matches("bob: (\\d{5} ){11}\\d{5}\\R");
            assertThat(bob.stdout()).isEqualTo(alice.stdout().replace("bob: ", "alice: "));

            Path key = Files.writeString(dir.resolve("key.hex"), "00112233445566778899aabbccddeeff"
                + "00112233445566778899aabbccddeeff\n");
            Result sent = courier("send", "--user", "carol", "--token", server.token("carol"), "--server", address,
                "--shared-key", "dave=" + key, "dave", "only", "dave", "reads", "this");
            assertThat(sent.exitStatus()).as(sent.stderr()).isZero();
            List<io.courier.client.Message> arrived = new java.util.concurrent.CopyOnWriteArrayList<>();
            try (CourierClient dave = CourierClient.builder().server(server.address()).user("dave")
                     .token(() -> server.token("dave")).database(dir.resolve("dave.db"))
                     .listener(new io.courier.client.CourierListener() {
                         @Override
                         public void onMessage(io.courier.client.Message m) {
                             arrived.add(m);
                         }
                     }).build()) {
                dave.setSharedKey("carol", java.util.HexFormat.of().parseHex(Files.readString(key).strip()));
                await().atMost(30, SECONDS).until(() -> arrived.size() == 1);
            }
            assertThat(arrived.get(0).text()).isEqualTo("only dave reads this");
            assertThat(arrived.get(0).encryption()).isEqualTo(io.courier.client.Encryption.SHARED_KEY);

            Files.writeString(key, "not hex");
            Result badKey = courier("send", "--user", "carol", "--token", server.token("carol"), "--server", address,
                "--shared-key", "dave=" + key, "dave", "hi");
            assertThat(badKey.exitStatus()).isEqualTo(2);
            assertThat(badKey.stderr()).contains("64 hex digits");
        }
    }

    @Test
    void shouldStopAtOnceNamingTheRefusalWhenTheServerRefusesTheToken() throws Exception {
        try (LocalServer server = new LocalServer(dir).start()) {
            Result result = courier("send", "--user", "alice", "--token", server.token("mallory"), "--server",
                server.address().toString(), "bob", "hi");

            assertThat(result.exitStatus()).isEqualTo(1);
            assertThat(result.stderr().lines()).singleElement().asString()
                .startsWith("courier: the server refused alice/1: AUTH_FAILED")
                .endsWith("the message stays queued in " + dir.resolve("home/.courier/alice/1.db"));
        }
    }

    @Test
    void shouldKeepAMessageQueuedAndSaySoWhenNoServerAnswers() throws Exception {
        LocalServer server = new LocalServer(dir).start();
        String token = server.token("alice");
        server.stop();

        Result result = courier("send", "--user", "alice", "--token", token, "--server", server.address().toString(),
            "--timeout", "PT2S", "bob", "later");

        assertThat(result.exitStatus()).isEqualTo(1);
        assertThat(result.stderr().lines()).singleElement().asString()
            .startsWith("courier: not sent within 2 s").contains("Connection refused")
            .contains("it stays in " + dir.resolve("home/.courier/alice/1.db"));
        Result history = courier("history", "--user", "alice", "bob");
        assertThat(history.stdout()).endsWith("alice \u2192 bob: later  queued" + System.lineSeparator());
    }
}
