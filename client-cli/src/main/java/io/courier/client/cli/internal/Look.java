package io.courier.client.cli.internal;

import io.courier.client.ConnectionStatus;
import io.courier.client.Direction;
import io.courier.client.Message;
import io.courier.client.Presence;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * How messages, ticks and the connection look: in ANSI colour (grey ticks, blue ✓✓ once read), or
 * plain, where a read message says so in words since no colour shows it.
 */
public final class Look {

    static final String ESC = "\u001b[";
    static final String RESET = ESC + "0m";
    static final String GREY = ESC + "90m";
    static final String BLUE = ESC + "34m";
    static final String RED = ESC + "31m";
    static final String BOLD = ESC + "1m";
    static final String REVERSE = ESC + "7m";

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm").withZone(ZoneId.systemDefault());
    private static final DateTimeFormatter DAY_TIME =
        DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm").withZone(ZoneId.systemDefault());

    private static final DateTimeFormatter SECONDS =
        DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());

    private final boolean colour;

    public Look(boolean colour) {
        this.colour = colour;
    }

    /**
     * Colour when standard output is a terminal that is not {@code dumb} and {@code NO_COLOR} is
     * not set (https://no-color.org).
     */
    public static Look forThisTerminal() {
        String noColour = System.getenv("NO_COLOR");
        return new Look(Terminal.isInteractive() && (noColour == null || noColour.isEmpty()));
    }

    public boolean colour() {
        return colour;
    }

    private String paint(String style, String text) {
        return colour ? style + text + RESET : text;
    }

    /** The tick, or what stands for it, of an outgoing message; empty for an incoming one. */
    public String tick(Message m) {
        if (m.direction() == Direction.INCOMING) {
            return "";
        }
        return switch (m.state()) {
            case PENDING -> paint(GREY, "queued");
            case SENT -> paint(GREY, "\u2713");
            case DELIVERED -> paint(GREY, "\u2713\u2713");
            case READ -> colour ? paint(BLUE, "\u2713\u2713") : "\u2713\u2713 read";
            case FAILED -> paint(RED, "\u2717 not sent: " + m.failureCode() + " " + m.failureText());
        };
    }

    /** One message as a line: time, sender, text and tick. */
    public String line(Message m, boolean withDay) {
        return line(m, withDay, tick(m));
    }

    /** The line of an outgoing message as it was when stored: queued. */
    public String queuedLine(Message m, boolean withDay) {
        return line(m, withDay, paint(GREY, "queued"));
    }

    private String line(Message m, boolean withDay, String tick) {
        String when = (withDay ? DAY_TIME : TIME).format(m.createdAt());
        String sender = m.direction() == Direction.INCOMING ? paint(BOLD, m.sender()) : m.sender();
        String to = m.direction() == Direction.OUTGOING && withDay ? " \u2192 " + m.recipient() : "";
        return paint(GREY, when) + " " + sender + to + ": " + body(m) + (tick.isEmpty() ? "" : "  " + tick);
    }

    /** The text, or for a file its type, size and where it is on this device. */
    private static String body(Message m) {
        if (m.isUndecryptable()) {
            // Its payload is ciphertext: say so rather than print noise.
            return "[cannot decrypt this message: " + m.undecryptable() + "]";
        }
        String text = m.text().replace('\n', ' ').replace('\r', ' ');
        if (m.media() == null) {
            return text;
        }
        String file = "[" + m.media().contentType() + ", " + size(m.media().sizeBytes())
            + (m.media().file() != null ? ": " + m.media().file() : "") + "]";
        return text.isEmpty() ? file : text + " " + file;
    }

    /** Bytes for a person: 5.0 MiB, 12.3 KiB, 512 B. */
    public static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1024 * 1024) {
            return String.format(java.util.Locale.ROOT, "%.1f KiB", bytes / 1024.0);
        }
        if (bytes < 1024L * 1024 * 1024) {
            return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024));
        }
        return String.format(java.util.Locale.ROOT, "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
    }

    /**
     * A user's presence in words: {@code online}, {@code last seen 2026-12-01 14:02:09} (this
     * computer's time zone), or {@code last seen unknown}.
     */
    public static String lastSeen(Presence p) {
        if (p.online()) {
            return "online";
        }
        return p.lastSeen().map(at -> "last seen " + SECONDS.format(at)).orElse("last seen unknown");
    }

    /** A presence as the chat shows it beside a name: the day only when not today; null when unknown. */
    public static String presence(Presence p, Instant now) {
        if (p == null || p.unknown()) {
            return null;
        }
        if (p.online()) {
            return "online";
        }
        Instant at = p.lastSeen().orElseThrow();
        boolean today = LocalDate.ofInstant(at, ZoneId.systemDefault()).equals(LocalDate.ofInstant(now, ZoneId.systemDefault()));
        return "last seen " + (today ? "today at " + TIME.format(at) : DAY_TIME.format(at));
    }

    /** The status line's words: connecting, connected, offline with what is queued. */
    public String status(ConnectionStatus s, String server, String who) {
        String queued = s.queued() > 0 ? ", " + s.queued() + " queued" : "";
        String problem = s.lastProblem() == null ? "" : " (" + shorter(s.lastProblem()) + ")";
        return switch (s.state()) {
            case CONNECTING -> "connecting to " + server + queued;
            case CONNECTED -> "connected to " + server + " as " + who + queued;
            case OFFLINE -> "offline" + (s.queued() > 0 ? ", " + s.queued() + " queued" : "") + ", retrying" + problem;
            case STOPPED -> "stopped" + queued + problem;
        };
    }

    /** "cannot connect to X: Cannot connect to X: why" (the client's words around the transport's) as one. */
    static String shorter(String problem) {
        int colon = problem.indexOf(": ");
        if (colon > 0 && problem.regionMatches(true, colon + 2, problem, 0, colon + 2)) {
            return problem.substring(colon + 2);
        }
        return problem;
    }

    public String statusBar(String text) {
        return paint(REVERSE, text);
    }

    public String dim(String text) {
        return paint(GREY, text);
    }

    public String bold(String text) {
        return paint(BOLD, text);
    }

    // ---------------------------------------------------------------- width arithmetic

    /** Columns {@code text} takes, escapes not counted (one per code point). */
    static int width(String text) {
        int n = 0;
        for (int i = 0; i < text.length(); ) {
            if (text.startsWith(ESC, i)) {
                i = endOfEscape(text, i);
                continue;
            }
            n++;
            i += Character.charCount(text.codePointAt(i));
        }
        return n;
    }

    private static int endOfEscape(String text, int start) {
        int i = start + ESC.length();
        while (i < text.length() && !Character.isLetter(text.charAt(i))) {
            i++;
        }
        return Math.min(text.length(), i + 1);
    }

    /**
     * {@code text} cut into rows of at most {@code columns} columns, each ending with a reset when
     * colour is on (so a style never runs into the next row).
     */
    List<String> wrap(String text, int columns) {
        List<String> rows = new ArrayList<>();
        StringBuilder row = new StringBuilder();
        String style = "";
        int n = 0;
        for (int i = 0; i < text.length(); ) {
            if (text.startsWith(ESC, i)) {
                int end = endOfEscape(text, i);
                String code = text.substring(i, end);
                style = code.equals(RESET) ? "" : style + code;
                row.append(code);
                i = end;
                continue;
            }
            if (n == columns) {
                rows.add(row + (style.isEmpty() ? "" : RESET));
                row = new StringBuilder(style);
                n = 0;
            }
            int cp = text.codePointAt(i);
            row.appendCodePoint(cp);
            n++;
            i += Character.charCount(cp);
        }
        rows.add(row.toString());
        return rows;
    }

    /** The first row of {@link #wrap}. */
    String cut(String text, int columns) {
        return wrap(text, Math.max(1, columns)).get(0);
    }
}
