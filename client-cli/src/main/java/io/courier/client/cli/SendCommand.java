package io.courier.client.cli;

import io.courier.client.ConnectionState;
import io.courier.client.ConnectionStatus;
import io.courier.client.CourierClient;
import io.courier.client.CourierListener;
import io.courier.client.Message;
import io.courier.client.MessageState;
import io.courier.client.cli.internal.Look;
import io.courier.client.cli.internal.Version;
import io.courier.storage.DeviceId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Sends one message and waits until the server has it (or its recipient's device does). */
@Command(name = "send", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = {"Send one text message, or one file (--file), to USER. It is stored in this device's outbox "
        + "first: if the server cannot be reached in time it stays queued there and goes out with the next chat "
        + "or send.",
        "A file is uploaded over HTTP to the server's media service, with a progress bar; the chat connection "
            + "carries only a reference to it, and the recipient's client downloads it from there."})
public final class SendCommand implements Callable<Integer> {

    /** How a wait ends. */
    enum Wait { none, sent, delivered }

    @Mixin
    DeviceOptions options;

    @Parameters(index = "0", paramLabel = "USER", description = "The recipient.")
    String to;

    @Parameters(index = "1..*", arity = "0..*", paramLabel = "TEXT",
        description = "The message; words are joined with spaces. Not with --file.")
    List<String> words;

    @Option(names = "--file", paramLabel = "FILE", description = "Send this file instead of text.")
    Path file;

    @Option(names = "--type", paramLabel = "MIME",
        description = "The file's MIME type, e.g. image/png (default: guessed from its name).")
    String type;

    @Option(names = "--wait", defaultValue = "sent", paramLabel = "UNTIL",
        description = "Return once the message is: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).")
    Wait wait;

    @Option(names = "--timeout", defaultValue = "PT30S", paramLabel = "DURATION",
        description = "How long to wait, as an ISO-8601 duration (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() throws InterruptedException {
        if (!DeviceId.isValidId(to)) {
            throw new CliFailure("'" + to + "' is not a user id: " + DeviceId.SYNTAX, Main.BAD_INPUT);
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new CliFailure("--timeout " + timeout + " must be above zero, e.g. PT30S", Main.BAD_INPUT);
        }
        boolean hasText = words != null && !words.isEmpty();
        if (file == null && !hasText) {
            throw new CliFailure("nothing to send: give TEXT, or --file FILE", Main.BAD_INPUT);
        }
        if (file != null && hasText) {
            throw new CliFailure("give either TEXT or --file FILE, not both", Main.BAD_INPUT);
        }
        if (file != null && !Files.isRegularFile(file)) {
            throw new CliFailure("--file " + file + ": " + (Files.exists(file) ? "not a regular file" : "no such file"),
                Main.BAD_INPUT);
        }
        if (type != null && !type.matches("[\\w.+-]+/[\\w.+-]+(;.*)?")) {
            throw new CliFailure("--type '" + type + "' is not a MIME type, e.g. image/png", Main.BAD_INPUT);
        }
        String who = options.user() + "/" + options.device;
        LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
        CourierListener listener = new CourierListener() {
            @Override
            public void onStateChanged(Message message) {
                events.add(message);
            }

            @Override
            public void onConnectionChanged(ConnectionStatus status) {
                events.add(status);
            }
        };
        Look look = Look.forThisTerminal();
        try (CourierClient client = options.connect(listener, Duration.ofSeconds(2))) {
            String id;
            ProgressBar progressBar = null;
            try {
                if (file != null) {
                    ProgressBar bar = new ProgressBar(file.getFileName().toString());
                    String mime = type != null ? type : guessType(file);
                    id = client.sendMedia(to, file, mime, bar);
                    progressBar = bar;
                } else {
                    id = client.sendText(to, String.join(" ", words));
                }
            } catch (IllegalArgumentException e) {
                throw new CliFailure(e.getMessage(), Main.BAD_INPUT);
            }
            if (wait == Wait.none) {
                System.out.println("queued for " + to + " in " + client.database()
                    + (file != null ? "; the file is uploaded the next time 'courier chat' or 'courier send' runs as "
                        + who : ""));
                return 0;
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            MessageState goal = wait == Wait.sent ? MessageState.SENT : MessageState.DELIVERED;
            while (true) {
                Optional<Message> now = client.message(id);
                Message m = now.orElseThrow();
                if (m.state() == MessageState.FAILED) {
                    if (progressBar != null) {
                    progressBar.finish();
                }
                throw new CliFailure("the server refused the message to " + to + ": " + m.failureCode() + " "
                        + m.failureText(), Main.FAILED);
                }
                if (progressBar != null && m.state() != MessageState.PENDING) {
                    progressBar.finish();
                }
                if (m.state().compareTo(goal) >= 0) {
                    System.out.println(look.line(m, true));
                    return 0;
                }
                ConnectionStatus status = client.status();
                if (refusedForGood(status)) {
                    throw new CliFailure("the server refused " + who + ": " + status.lastProblem() + "; the message "
                        + "stays queued in " + client.database(), Main.FAILED);
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    String state = m.state() == MessageState.PENDING ? "not sent within " + timeout.toSeconds() + " s"
                        : "sent, not delivered within " + timeout.toSeconds() + " s";
                    String why = status.lastProblem() == null ? "" : " (" + status.lastProblem() + ")";
                    throw new CliFailure(state + why + "; it stays in " + client.database() + " and goes out or gets "
                        + "its ticks the next time 'courier chat' or 'courier send' runs as " + who, Main.FAILED);
                }
                events.poll(left, TimeUnit.NANOSECONDS);
            }
        }
    }

    /** The MIME type of a file by its name, for the common kinds; application/octet-stream otherwise. */
    static String guessType(Path file) {
        String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        int dot = name.lastIndexOf('.');
        String ext = dot < 0 ? "" : name.substring(dot + 1);
        return switch (ext) {
            case "png" -> "image/png";
            case "jpg", "jpeg" -> "image/jpeg";
            case "gif" -> "image/gif";
            case "webp" -> "image/webp";
            case "svg" -> "image/svg+xml";
            case "pdf" -> "application/pdf";
            case "txt" -> "text/plain";
            case "mp4" -> "video/mp4";
            case "mp3" -> "audio/mpeg";
            case "ogg" -> "audio/ogg";
            case "zip" -> "application/zip";
            default -> "application/octet-stream";
        };
    }

    /**
     * The upload's progress on standard error: redrawn in place on a terminal, otherwise a line
     * at every tenth, so a log of a script shows it too.
     */
    static final class ProgressBar implements io.courier.client.TransferProgress {
        private static final int WIDTH = 30;
        private final String name;
        private final boolean terminal = System.console() != null;
        private int shown = -1;
        private boolean finished;

        ProgressBar(String name) {
            this.name = name;
        }

        @Override
        public synchronized void progress(long done, long total) {
            if (finished || total <= 0) {
                return;
            }
            int percent = (int) (done * 100 / total);
            int step = terminal ? percent : percent / 10 * 10;
            if (step == shown) {
                return;
            }
            shown = step;
            int filled = (int) ((long) WIDTH * done / total);
            String line = name + " [" + "#".repeat(filled) + "-".repeat(WIDTH - filled) + "] " + percent + "% "
                + io.courier.client.cli.internal.Look.size(done) + " of " + io.courier.client.cli.internal.Look.size(total);
            if (terminal) {
                System.err.print("\r" + line);
            } else {
                System.err.println(line);
            }
            System.err.flush();
        }

        /** Ends the bar's line; the upload is over. */
        synchronized void finish() {
            if (!finished) {
                finished = true;
                if (terminal && shown >= 0) {
                    System.err.println();
                }
            }
        }
    }

    /** Refusals that trying again with the same token cannot fix. */
    private static boolean refusedForGood(ConnectionStatus status) {
        String problem = status.lastProblem();
        return status.state() != ConnectionState.CONNECTED && problem != null
            && (problem.startsWith("AUTH_FAILED") || problem.startsWith("TOKEN_EXPIRED")
                || problem.startsWith("TOO_MANY_DEVICES") || problem.startsWith("SESSION_REPLACED"));
    }
}
