package io.courier.client.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * A tmux server of our own (its own socket, so nothing else's sessions are touched): programs run
 * in real terminals, keys are typed into them, and their screens are read back with colours.
 */
final class Tmux implements AutoCloseable {

    static final int COLUMNS = 100;
    static final int ROWS = 24;

    /** An SGR escape: what separates a screen row with colours from its text. */
    private static final Pattern SGR = Pattern.compile("\u001b\\[[0-9;]*m");

    private final Path socket;
    private final Path config;
    private boolean started;

    Tmux(Path dir) throws IOException {
        this.socket = dir.resolve("tmux.sock");
        // No status bar (the pane is the whole window); a finished program's last screen is kept.
        this.config = Files.writeString(dir.resolve("tmux.conf"), "set -g status off\nset -g remain-on-exit on\n");
        String version = run(List.of("tmux", "-V"), false);
        if (version == null) {
            throw new IllegalStateException("tmux is not installed: ./test.sh installs it (.ci/tmux.sh), or "
                + "apt-get install tmux");
        }
    }

    /** Runs {@code command} in a new detached session of {@link #COLUMNS} by {@link #ROWS}, in {@code folder}. */
    void start(String session, Path folder, List<String> command) throws IOException {
        // tmux's own #{pane_dead_status} is not filled in by every version: the shell writes it down.
        Path status = statusFile(session);
        Files.deleteIfExists(status);
        List<String> wrapped = new ArrayList<>(List.of("sh", "-c", "\"$@\"; echo $? > '" + status + "'", session));
        wrapped.addAll(command);
        StringBuilder shell = new StringBuilder();
        for (String arg : wrapped) {
            shell.append(shell.length() == 0 ? "" : " ").append('\'').append(arg.replace("'", "'\\''")).append('\'');
        }
        tmux("-f", config.toString(), "new-session", "-d", "-s", session, "-x", String.valueOf(COLUMNS),
            "-y", String.valueOf(ROWS), "-c", folder.toString(), shell.toString());
        started = true;
    }

    /** Types {@code text} as keys (literally: no key names), without Enter. */
    void type(String session, String text) {
        tmux("send-keys", "-t", session, "-l", text);
    }

    void enter(String session) {
        tmux("send-keys", "-t", session, "Enter");
    }

    /** Types a line and Enter. */
    void line(String session, String text) {
        type(session, text);
        enter(session);
    }

    /** The screen's rows with their colours as SGR escapes. */
    List<String> screen(String session) {
        return tmux("capture-pane", "-p", "-e", "-t", session).lines().toList();
    }

    /** The screen's rows as text. */
    List<String> text(String session) {
        return screen(session).stream().map(Tmux::plain).toList();
    }

    static String plain(String row) {
        return SGR.matcher(row).replaceAll("");
    }

    private Path statusFile(String session) {
        return socket.resolveSibling(session + ".exit-status");
    }

    /** True once the program in the session has ended. */
    boolean ended(String session) throws IOException {
        Path status = statusFile(session);
        return Files.exists(status) && !Files.readString(status).isBlank();
    }

    /** How the session's program ended. */
    int exitStatus(String session) throws IOException {
        return Integer.parseInt(Files.readString(statusFile(session)).strip());
    }

    void kill(String session) {
        tmux("kill-session", "-t", session);
    }

    private String tmux(String... args) {
        List<String> command = new ArrayList<>(List.of("tmux", "-S", socket.toString(), "-u"));
        command.addAll(List.of(args));
        return run(command, true);
    }

    private static String run(List<String> command, boolean mustWork) {
        try {
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
            builder.environment().put("LANG", "C.UTF-8");
            Process p = builder.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " did not finish within 30 s");
            }
            if (p.exitValue() != 0) {
                if (!mustWork) {
                    return null;
                }
                throw new IllegalStateException(String.join(" ", command) + " failed (" + p.exitValue() + "): " + out);
            }
            return out;
        } catch (IOException e) {
            if (!mustWork) {
                return null;
            }
            throw new IllegalStateException("cannot run " + String.join(" ", command) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + command, e);
        }
    }

    /** Ends our tmux server and with it every program it still runs. */
    @Override
    public void close() {
        if (started) {
            run(List.of("tmux", "-S", socket.toString(), "kill-server"), false);
        }
    }
}
