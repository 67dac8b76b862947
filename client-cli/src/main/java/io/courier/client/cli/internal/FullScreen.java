package io.courier.client.cli.internal;

import io.courier.client.ConnectionStatus;
import io.courier.client.CourierClient;
import io.courier.client.Message;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The chat on a whole terminal screen (the alternate screen, as full-screen programs use): a title
 * row, the open conversation (or the list of conversations) above, the status line, and the input
 * row at the bottom, where the terminal itself echoes and edits what is typed (cooked mode).
 *
 * <p>Everything above the input row is drawn by one thread from the database and the client's
 * status, so the screen always shows what is stored; only rows that changed are written, with the
 * cursor saved and restored around them, so typing goes on undisturbed while messages arrive and
 * the connection comes and goes. The scroll region ends above the input row: Enter there does not
 * scroll the screen.
 */
final class FullScreen extends ChatView {

    private static final String ESC = Look.ESC;
    private static final String SAVE = "\u001b7";
    private static final String RESTORE = "\u001b8";
    private static final String PROMPT = "> ";

    private final PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
    private final Object terminal = new Object();
    private final LinkedBlockingQueue<Boolean> wake = new LinkedBlockingQueue<>(1);
    private final Thread painter = new Thread(this::paintLoop, "courier-chat-screen");
    private volatile boolean closed;
    private Terminal.Size size;
    private String[] shown = new String[0];

    FullScreen(Look look, String who, String server, String open) {
        super(look, who, server, open);
        painter.setDaemon(true);
    }

    @Override
    public boolean fullScreen() {
        return true;
    }

    @Override
    public void start(CourierClient client) {
        super.start(client);
        synchronized (terminal) {
            size = Terminal.size();
            setUp();
        }
        painter.start();
        changed();
    }

    /** Alternate screen, cleared, scroll region above the input row, the prompt. */
    private void setUp() {
        shown = new String[size.rows()];
        out.print(ESC + "?1049h" + ESC + "2J" + ESC + "1;" + (size.rows() - 1) + "r");
        prompt();
        out.flush();
    }

    private void prompt() {
        out.print(ESC + size.rows() + ";1H" + ESC + "2K" + PROMPT);
    }

    @Override
    public void entered(String line) {
        super.entered(line);
        synchronized (terminal) {
            Terminal.Size now = Terminal.size();
            if (!now.equals(size)) {
                size = now;
                setUp();
            } else {
                prompt();
                out.flush();
            }
        }
        changed();
    }

    @Override
    protected void changed() {
        wake.offer(Boolean.TRUE);
    }

    private void paintLoop() {
        try {
            while (!closed) {
                // Also wakes now and then to notice a resized terminal.
                Boolean woken = wake.poll(2, TimeUnit.SECONDS);
                if (closed) {
                    return;
                }
                if (woken == null) {
                    Terminal.Size now = Terminal.size();
                    synchronized (terminal) {
                        if (now.equals(size)) {
                            continue;
                        }
                        size = now;
                        setUp();
                    }
                }
                paint();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IllegalStateException closedMeanwhile) {
            // The client was closed while a row was being read: the chat is ending.
        }
    }

    private void paint() {
        CourierClient c = client;
        Terminal.Size at;
        synchronized (terminal) {
            at = size;
        }
        readOpen();
        List<String> rows = frame(c, at);
        synchronized (terminal) {
            if (closed || !at.equals(size)) {
                return;
            }
            StringBuilder screen = new StringBuilder();
            for (int r = 0; r < rows.size(); r++) {
                String row = rows.get(r);
                if (!row.equals(shown[r])) {
                    screen.append(ESC).append(r + 1).append(";1H").append(ESC).append("2K").append(row);
                    if (look.colour()) {
                        screen.append(Look.RESET);
                    }
                    shown[r] = row;
                }
            }
            if (screen.length() > 0) {
                out.print(SAVE + screen + RESTORE);
                out.flush();
            }
        }
    }

    /** Every row but the input row: title, content, status. */
    private List<String> frame(CourierClient c, Terminal.Size at) {
        int width = at.columns();
        int contentRows = at.rows() - 3;
        String conversation = open();
        List<String> rows = new ArrayList<>();
        String peerStatus = conversation == null ? null : presenceOf(conversation);
        rows.add(look.cut(look.bold(" courier ") + who + (conversation == null ? " \u00b7 conversations" : " \u2192 "
            + look.bold(conversation) + (peerStatus == null ? "" : " \u00b7 " + peerStatus))
            + look.dim("   /open USER \u00b7 @USER text \u00b7 /list \u00b7 /quit"), width));
        List<String> content = conversation == null ? conversations(c, width) : conversation(c, conversation, width, contentRows);
        int from = Math.max(0, content.size() - contentRows);
        List<String> visible = content.subList(from, content.size());
        if (conversation != null) {
            // Newest at the bottom, next to where one types, as in a phone's chat.
            for (int i = visible.size(); i < contentRows; i++) {
                rows.add("");
            }
            rows.addAll(visible);
        } else {
            rows.addAll(visible.subList(0, Math.min(visible.size(), contentRows)));
            while (rows.size() < contentRows + 1) {
                rows.add("");
            }
        }
        rows.add(look.statusBar(padded(statusText(c, conversation), width)));
        return rows;
    }

    private List<String> conversation(CourierClient c, String conversation, int width, int contentRows) {
        List<String> rows = new ArrayList<>();
        List<Message> messages = c.history(conversation, Math.max(1, contentRows));
        if (messages.isEmpty()) {
            rows.add(look.dim("no messages with " + conversation + " yet: type one and press Enter"));
        }
        for (Message m : messages) {
            rows.addAll(look.wrap(look.line(m, false), width));
        }
        return rows;
    }

    private List<String> conversations(CourierClient c, int width) {
        List<String> rows = new ArrayList<>();
        Map<String, Integer> unread = c.unreadCounts();
        List<String> all = c.conversations();
        if (all.isEmpty()) {
            rows.add(look.dim("no conversations yet: /open USER, or @USER text"));
        }
        for (String conversation : all) {
            int n = unread.getOrDefault(conversation, 0);
            List<Message> last = c.history(conversation, 1);
            String latest = last.isEmpty() ? "" : "   " + look.line(last.get(0), false);
            String status = presenceOf(conversation);
            rows.add(look.cut(" " + look.bold(conversation) + (status == null ? "" : " " + look.dim("(" + status + ")"))
                + (n > 0 ? "  " + n + " unread" : "") + latest, width));
        }
        return rows;
    }

    private String statusText(CourierClient c, String conversation) {
        ConnectionStatus s = c.status();
        String text = " " + look.status(s, server, who);
        int elsewhere = 0;
        for (Map.Entry<String, Integer> e : c.unreadCounts().entrySet()) {
            if (!e.getKey().equals(conversation)) {
                elsewhere += e.getValue();
            }
        }
        if (conversation != null && elsewhere > 0) {
            text += " \u00b7 " + elsewhere + " unread elsewhere (/list)";
        }
        String notice = noticeText();
        if (notice != null) {
            text += " \u00b7 " + notice;
        }
        return text;
    }

    private String padded(String text, int width) {
        String cut = look.cut(text, width);
        int missing = width - Look.width(cut);
        return missing > 0 ? cut + " ".repeat(missing) : cut;
    }

    @Override
    public void close() {
        synchronized (terminal) {
            if (closed) {
                return;
            }
            closed = true;
            Arrays.fill(shown, null);
            out.print(ESC + "r" + ESC + "?1049l");
            out.flush();
        }
        painter.interrupt();
    }
}
