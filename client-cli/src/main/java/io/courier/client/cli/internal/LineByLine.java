package io.courier.client.cli.internal;

import io.courier.client.ConnectionStatus;
import io.courier.client.CourierClient;
import io.courier.client.Direction;
import io.courier.client.Message;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * The chat when input or output is not an interactive terminal (a pipe, a file, {@code TERM=dumb}):
 * one line per event, nothing redrawn. A message is printed again, with its new tick, each time its
 * state changes; the connection's changes are lines starting with {@code *}.
 */
final class LineByLine extends ChatView {

    private final java.util.Set<String> announced = new java.util.HashSet<>();
    private final java.util.Map<String, String> lastSaid = new java.util.concurrent.ConcurrentHashMap<>();
    private final PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);

    LineByLine(Look look, String who, String server, String open) {
        super(look, who, server, open);
    }

    @Override
    public boolean fullScreen() {
        return false;
    }

    @Override
    public void start(CourierClient client) {
        super.start(client);
        out.println("* courier chat as " + who + (open() == null ? "" : " with " + open()) + "; " + HELP);
        out.println("* " + look.status(client.status(), server, who));
        opened();
    }

    @Override
    protected void opened() {
        String conversation = open();
        CourierClient c = client;
        if (conversation != null && c != null) {
            for (Message m : c.history(conversation, 20)) {
                out.println(look.line(m, false));
            }
            readOpen();
        }
    }

    @Override
    public void notice(String text) {
        out.println("! " + text);
    }

    @Override
    public void sent(String clientId) {
        client.message(clientId).ifPresent(this::queued);
    }

    /**
     * The message's first line, saying it is queued, printed once and before any line of a later
     * state (the server may accept it before the thread that stored it gets here).
     */
    private synchronized void queued(Message m) {
        if (announced.add(m.clientId())) {
            out.println(look.queuedLine(m, !m.conversation().equals(open())));
        }
    }

    @Override
    protected void changed() {
        // Each event prints its own line.
    }

    @Override
    public void onMessage(Message m) {
        boolean here = m.conversation().equals(open());
        out.println(look.line(m, !here) + (here || m.direction() == Direction.OUTGOING ? "" : "  (/open " + m.conversation() + ")"));
        if (here) {
            readOpen();
        }
    }

    @Override
    public synchronized void onStateChanged(Message m) {
        if ((m.sender() + "/" + m.senderDevice()).equals(who)) {
            queued(m); // copies from the user's other devices were printed when they arrived
        }
        out.println(look.line(m, !m.conversation().equals(open())));
    }

    @Override
    public void onConnectionChanged(ConnectionStatus status) {
        out.println("* " + look.status(status, server, who));
    }

    @Override
    public void onPresence(io.courier.client.Presence p) {
        super.onPresence(p);
        // A reconnect announces every watched user again: only a change is worth a line.
        String now = Look.lastSeen(p);
        if (!now.equals(lastSaid.put(p.user(), now))) {
            out.println("* " + p.user() + ": " + now);
        }
    }

    @Override
    public void close() {
        out.flush();
    }
}
