package io.courier.client.cli;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acceptance: the terminal chat in real terminals (tmux). Alice and bob chat; the server is stopped
 * and started again while alice types; her messages show as queued, then ✓, then ✓✓, then blue.
 */
class TerminalChatIT {

    /** Bounds every wait: a server start, a reconnect after back-off (at most 5 s), a JVM start. */
    private static final int PATIENCE_SECONDS = 60;

    /** A blue ✓✓: the SGR for blue foreground (34), maybe among other attributes, then the ticks. */
    private static final Pattern BLUE_TICKS = Pattern.compile("\u001b\\[(?:[0-9]+;)*34(?:;[0-9]+)*m\u2713\u2713");

    @TempDir
    Path dir;

    private LocalServer server;
    private Tmux tmux;
    private Path aliceHome;
    private Path bobHome;

    @BeforeEach
    void start() throws IOException {
        server = new LocalServer(dir).start();
        tmux = new Tmux(dir);
        aliceHome = Files.createDirectories(dir.resolve("alice-home"));
        bobHome = Files.createDirectories(dir.resolve("bob-home"));
        // Alice keeps her token in her home's token file, bob in the environment.
        Files.writeString(Files.createDirectories(aliceHome.resolve(".courier")).resolve("token"),
            server.token("alice") + "\n");
    }

    @AfterEach
    void stop() {
        tmux.close();
        server.close();
    }

    @Test
    void shouldShowQueuedThenSingleThenDoubleTickAcrossAServerRestartWhileAliceTypes() throws Exception {
        chat("alice", "bob");
        chat("bob", null);
        until("alice is connected", "alice", () -> status("alice").startsWith("connected to " + server.address()));
        until("bob is connected", "bob", () -> status("bob").startsWith("connected to " + server.address()));

        // Bob is online with no conversation open: alice's message reaches his device, unread.
        tmux.line("alice", "hello bob");
        until("alice sees ✓✓ on 'hello bob'", "alice", () -> tick("alice", "hello bob").equals("✓✓"));
        until("bob's list shows alice's unread message", "bob", () -> row("bob", "alice  1 unread") != null);

        // Bob opens the conversation: alice's ticks turn blue; he answers.
        tmux.line("bob", "/open alice");
        until("bob sees alice's message", "bob", () -> row("bob", "alice: hello bob") != null);
        until("alice sees a blue ✓✓ on 'hello bob'", "alice", () -> tick("alice", "hello bob").equals("blue ✓✓"));
        tmux.line("bob", "hi alice");
        until("alice sees bob's answer", "alice", () -> row("alice", "bob: hi alice") != null);
        until("bob sees a blue ✓✓ (alice has him open)", "bob", () -> tick("bob", "hi alice").equals("blue ✓✓"));

        // Bob leaves; alice starts typing, and the server stops under her.
        tmux.line("bob", "/quit");
        until("bob's chat ended", "bob", () -> tmux.ended("bob"));
        assertThat(tmux.exitStatus("bob")).isZero();
        tmux.kill("bob");
        tmux.type("alice", "are you ");
        server.stop();
        until("alice is offline", "alice", () -> status("alice").startsWith("offline"));
        tmux.type("alice", "there?");
        tmux.enter("alice");
        until("'are you there?' is queued", "alice", () -> tick("alice", "are you there?").equals("queued"));
        until("the status line counts it", "alice", () -> status("alice").contains("1 queued"));
        tmux.line("alice", "the server is down");
        until("'the server is down' is queued", "alice", () -> tick("alice", "the server is down").equals("queued"));
        until("the status line counts both", "alice", () -> status("alice").contains("2 queued"));
        tmux.type("alice", "back soon");

        // The server is back: the outbox goes out in order, single ticks while bob is away.
        server.start();
        until("alice is connected again", "alice", () -> status("alice").startsWith("connected to "));
        until("'are you there?' has ✓", "alice", () -> tick("alice", "are you there?").equals("✓"));
        until("'the server is down' has ✓", "alice", () -> tick("alice", "the server is down").equals("✓"));
        assertThat(status("alice")).doesNotContain("queued");
        assertThat(rows("alice").get(Tmux.ROWS - 1)).as("what alice was typing is still on her input row")
            .isEqualTo("> back soon");
        tmux.enter("alice");
        until("'back soon' has ✓", "alice", () -> tick("alice", "back soon").equals("✓"));
        List<String> order = new ArrayList<>();
        for (String row : rows("alice")) {
            for (String text : List.of("are you there?", "the server is down", "back soon")) {
                if (row.contains("alice: " + text)) {
                    order.add(text);
                }
            }
        }
        assertThat(order).containsExactly("are you there?", "the server is down", "back soon");

        // Bob comes back with his list open: delivered (✓✓), not read; he opens alice: blue.
        chat("bob", null);
        until("bob's list shows 3 unread from alice", "bob", () -> row("bob", "alice  3 unread") != null);
        for (String text : List.of("are you there?", "the server is down", "back soon")) {
            until("'" + text + "' has ✓✓", "alice", () -> tick("alice", text).equals("✓✓"));
        }
        tmux.line("bob", "/open alice");
        for (String text : List.of("are you there?", "the server is down", "back soon")) {
            until("'" + text + "' has a blue ✓✓", "alice", () -> tick("alice", text).equals("blue ✓✓"));
        }

        tmux.line("alice", "/quit");
        until("alice's chat ended", "alice", () -> tmux.ended("alice"));
        assertThat(tmux.exitStatus("alice")).isZero();
    }

    /** Starts {@code user}'s chat in a terminal of its own, from a folder that is not the repository. */
    private void chat(String user, String peer) throws IOException {
        Path home = user.equals("alice") ? aliceHome : bobHome;
        Path folder = Files.createDirectories(dir.resolve("elsewhere"));
        List<String> command = new ArrayList<>(List.of("env", "-u", "NO_COLOR", "-u", "COURIER_USER",
            "-u", "COURIER_SERVER", "-u", "COURIER_TOKEN", "HOME=" + home, "LANG=C.UTF-8"));
        if (user.equals("bob")) {
            command.add("COURIER_TOKEN=" + server.token("bob"));
        }
        command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
            "-jar", jar().toString(), "chat", "--user", user, "--server", server.address().toString()));
        if (peer != null) {
            command.add(peer);
        }
        tmux.start(user, folder, command);
    }

    static Path jar() {
        Path jar = Path.of(System.getProperty("courier.jar", "target/courier.jar"));
        assertThat(jar).as("the executable the package phase builds").exists();
        return jar;
    }

    private List<String> rows(String session) {
        return tmux.text(session);
    }

    /** The status line: the row above the input row. */
    private String status(String session) {
        return rows(session).get(Tmux.ROWS - 2).strip();
    }

    /** The first row showing {@code text}, or null. */
    private String row(String session, String text) {
        return rows(session).stream().filter(r -> r.contains(text)).findFirst().orElse(null);
    }

    /** The tick on the row of {@code text}: queued, ✓, ✓✓ or blue ✓✓ (empty when no tick; null when no row). */
    private String tick(String session, String text) {
        for (String coloured : tmux.screen(session)) {
            String plain = Tmux.plain(coloured).stripTrailing();
            if (!plain.contains(": " + text)) {
                continue;
            }
            if (plain.endsWith(text + "  queued")) {
                return "queued";
            }
            if (plain.endsWith(text + "  \u2713\u2713")) {
                return BLUE_TICKS.matcher(coloured).find() ? "blue ✓✓" : "✓✓";
            }
            if (plain.endsWith(text + "  \u2713")) {
                return "✓";
            }
            return "";
        }
        return null;
    }

    /** Waits (bounded) for {@code condition}; on timeout, fails showing the session's screen and the chat's log. */
    private void until(String what, String session, Callable<Boolean> condition) throws IOException {
        try {
            await().atMost(PATIENCE_SECONDS, SECONDS).ignoreExceptions().until(condition);
        } catch (ConditionTimeoutException e) {
            Path log = (session.equals("alice") ? aliceHome : bobHome).resolve(".courier").resolve(session)
                .resolve("1.db.log");
            throw new AssertionError("Waited " + PATIENCE_SECONDS + " s for: " + what + "\n" + session
                + "'s terminal shows:\n" + String.join("\n", rows(session)) + "\n" + session + "'s log:\n"
                + (Files.exists(log) ? Files.readString(log) : "(none)"), e);
        }
    }
}
