package io.courier.client.cli;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.client.CourierClient;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The chat without colour: on a terminal with NO_COLOR set, and line by line when input is a pipe. */
class PlainChatIT {

    @TempDir
    Path dir;

    private LocalServer server;
    private CourierClient bob;

    @BeforeEach
    void start() throws IOException {
        server = new LocalServer(dir).start();
        // Bob's device reads whatever alice sends: her ticks go all the way to read.
        bob = CourierClient.builder().server(server.address()).user("bob").token(() -> server.token("bob"))
            .database(dir.resolve("bob.db")).listener(new io.courier.client.CourierListener() {
                @Override
                public void onMessage(io.courier.client.Message message) {
                    bob.markRead(message.conversation());
                }
            }).build();
    }

    @AfterEach
    void stop() {
        bob.close();
        server.close();
    }

    @Test
    void shouldSayReadInWordsAndUseNoColourWhenNoColourIsSet() throws Exception {
        try (Tmux tmux = new Tmux(dir)) {
            Path home = Files.createDirectories(dir.resolve("home"));
            tmux.start("alice", dir, List.of("env", "NO_COLOR=1", "HOME=" + home, "LANG=C.UTF-8",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", TerminalChatIT.jar().toString(),
                "chat", "--user", "alice", "--server", server.address().toString(), "--token", server.token("alice"), "bob"));
            await().atMost(60, SECONDS).until(() -> tmux.text("alice").get(Tmux.ROWS - 2).contains("connected"));
            // Bob's device is connected: the title row says so beside his name.
            await().atMost(60, SECONDS).until(() -> tmux.text("alice").get(0).contains("\u2192 bob \u00b7 online"));

            tmux.line("alice", "plain please");

            await().atMost(60, SECONDS).until(() -> tmux.text("alice").stream()
                .anyMatch(row -> row.endsWith("alice: plain please  \u2713\u2713 read")));
            assertThat(String.join("\n", tmux.screen("alice"))).as("no colour, no bold, no reverse video")
                .doesNotContainPattern("\u001b\\[[0-9;]*(3[0-7]|9[0-7]|1|7)m");
        }
    }

    @Test
    void shouldPrintOneLinePerEventWhenInputIsNotATerminal() throws Exception {
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-jar", TerminalChatIT.jar().toString(), "chat", "--user", "alice", "--server", server.address().toString(),
            "--token", server.token("alice"), "--database", dir.resolve("alice.db").toString(), "bob")
            .redirectErrorStream(true).redirectOutput(dir.resolve("out.txt").toFile());
        builder.environment().remove("NO_COLOR");
        Process alice = builder.start();
        try {
            await().atMost(60, SECONDS).until(() -> output().contains("* connected to " + server.address()));
            await().atMost(60, SECONDS).until(() -> output().contains("* bob: online"));
            try (OutputStream typing = alice.getOutputStream()) {
                typing.write("over a pipe\n".getBytes(StandardCharsets.UTF_8));
                typing.flush();
                await().atMost(60, SECONDS).until(() -> output().contains("alice: over a pipe  \u2713\u2713 read"));
            }
            assertThat(alice.waitFor(60, SECONDS)).as("the chat ends with its input").isTrue();
            assertThat(alice.exitValue()).isZero();
            List<String> ticks = output().lines().filter(l -> l.contains("alice: over a pipe")).map(l -> l.substring(6))
                .toList();
            assertThat(ticks).containsExactly("alice: over a pipe  queued", "alice: over a pipe  \u2713",
                "alice: over a pipe  \u2713\u2713", "alice: over a pipe  \u2713\u2713 read");
        } finally {
            alice.destroyForcibly();
        }
    }

    @Test
    void shouldSaveAFileThatArrivesInTheChatAndSendOneWithSlashFile() throws Exception {
        byte[] photo = new byte[200_000];
        new java.util.Random(3).nextBytes(photo);
        Path fromBob = Files.write(dir.resolve("from-bob.png"), photo);
        Path toBob = Files.writeString(dir.resolve("notes.txt"), "notes for bob\n");
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-jar", TerminalChatIT.jar().toString(), "chat", "--user", "alice", "--server", server.address().toString(),
            "--token", server.token("alice"), "--database", dir.resolve("alice.db").toString(),
            "--media-folder", dir.resolve("alice-files").toString(), "bob")
            .redirectErrorStream(true).redirectOutput(dir.resolve("out.txt").toFile());
        Process alice = builder.start();
        try {
            await().atMost(60, SECONDS).until(() -> output().contains("* connected to " + server.address()));
            bob.sendMedia("alice", fromBob, "image/png");
            Path saved = dir.resolve("alice-files/received/bob");
            await().atMost(60, SECONDS).until(() -> output().contains("! saved image/png from bob: " + saved));
            try (var files = Files.list(saved)) {
                assertThat(files.toList()).singleElement().satisfies(f -> assertThat(f).hasBinaryContent(photo));
            }
            try (OutputStream typing = alice.getOutputStream()) {
                typing.write(("/file " + toBob + "\n").getBytes(StandardCharsets.UTF_8));
                typing.flush();
                await().atMost(60, SECONDS).until(() -> bob.history("alice").stream()
                    .anyMatch(m -> m.hasMedia() && m.media().contentType().equals("text/plain")));
            }
            io.courier.client.Message notes = bob.history("alice").stream().filter(m -> m.hasMedia()
                && m.media().contentType().equals("text/plain")).findFirst().orElseThrow();
            assertThat(bob.download(notes).get(60, SECONDS)).hasContent("notes for bob");
            assertThat(alice.waitFor(60, SECONDS)).as("the chat ends with its input").isTrue();
        } finally {
            alice.destroyForcibly();
        }
    }

    @Test
    void shouldShowASafetyNumberChangeAndAMessageThatCannotBeDecrypted() throws Exception {
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-jar", TerminalChatIT.jar().toString(), "chat", "--encrypt", "--user", "alice", "--server",
            server.address().toString(), "--token", server.token("alice"), "--database",
            dir.resolve("alice.db").toString(), "dave")
            .redirectErrorStream(true).redirectOutput(dir.resolve("out.txt").toFile());
        Process alice = builder.start();
        try {
            await().atMost(60, SECONDS).until(() -> output().contains("* connected to " + server.address()));
            try (CourierClient dave = encrypting("dave", "dave.db")) {
                dave.sendText("alice", "hello from my old phone");
                await().atMost(60, SECONDS).until(() -> output().contains("dave: hello from my old phone"));
            }
            // dave reinstalls: a new identity for the same device, announced before alice writes to him.
            try (CourierClient dave = encrypting("dave", "dave-new.db")) {
                dave.sendText("alice", "hello from my new phone");
                await().atMost(60, SECONDS).until(() -> output().contains("dave: hello from my new phone"));
                String number = dave.safetyNumber("alice").get(60, SECONDS);
                await().atMost(60, SECONDS).until(() -> output().contains("safety number changed for dave: " + number));
            }
            // A shared key alice does not have: the message is shown as such, not as noise.
            byte[] key = new byte[32];
            key[0] = 5;
            try (CourierClient carol = CourierClient.builder().server(server.address()).user("carol")
                     .token(() -> server.token("carol")).database(dir.resolve("carol.db")).build()) {
                carol.setSharedKey("alice", key);
                carol.sendText("alice", "alice has not got the key");
                await().atMost(60, SECONDS).until(() -> output().contains("[cannot decrypt this message: NO_KEY]"));
            }
            assertThat(output()).doesNotContain("alice has not got the key");
            alice.getOutputStream().close();
            assertThat(alice.waitFor(60, SECONDS)).as("the chat ends with its input").isTrue();
        } finally {
            alice.destroyForcibly();
        }
    }

    private CourierClient encrypting(String user, String db) {
        CourierClient c = CourierClient.builder().server(server.address()).user(user).token(() -> server.token(user))
            .database(dir.resolve(db)).encryption(io.courier.client.Encryption.SIGNAL).build();
        c.keysPublished().orTimeout(60, SECONDS).join();
        return c;
    }

    private String output() throws IOException {
        return Files.readString(dir.resolve("out.txt"));
    }
}
