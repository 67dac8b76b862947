package io.courier.client.cli.internal;

import io.courier.client.ConnectionStatus;
import io.courier.client.CourierClient;
import io.courier.client.CourierListener;
import io.courier.client.Message;
import io.courier.client.Presence;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the chat shows. The client's listener calls it on the client's thread (it must not block
 * there); the input loop calls it on the main thread.
 */
public abstract class ChatView implements CourierListener {

    protected final Look look;
    protected final String who;
    protected final String server;
    protected volatile CourierClient client;
    private volatile String open;
    private volatile String notice;
    private final Map<String, Presence> presence = new ConcurrentHashMap<>();

    protected ChatView(Look look, String who, String server, String open) {
        this.look = look;
        this.who = who;
        this.server = server;
        this.open = open;
    }

    /** The terminal's chat: full screen on an interactive terminal, else one line per event. */
    public static ChatView forThisTerminal(String who, String server, String open) {
        Look look = Look.forThisTerminal();
        return Terminal.isInteractive() ? new FullScreen(look, who, server, open) : new LineByLine(look, who, server, open);
    }

    /** Whether the view takes the whole screen, so log lines must go elsewhere. */
    public abstract boolean fullScreen();

    /** Starts showing {@code client}: called once, after it was built with this view as its listener. */
    public void start(CourierClient client) {
        this.client = client;
        watch();
    }

    /** Watches the presence of the user's contacts and of the open conversation's peer. */
    private void watch() {
        CourierClient c = client;
        if (c != null) {
            String conversation = open;
            c.watchPresence(conversation == null ? List.of() : List.of(conversation), true);
        }
    }

    /** How {@code user}'s presence reads beside their name ("online", "last seen today at 14:02"); null when unknown. */
    protected String presenceOf(String user) {
        return Look.presence(presence.get(user), Instant.now());
    }

    /** The conversation open, whose messages are shown and marked read; null for the list of conversations. */
    public String open() {
        return open;
    }

    /** Opens a conversation, or the list of them (null). */
    public void open(String conversation) {
        this.open = conversation;
        this.notice = null;
        watch();
        opened();
    }

    protected void opened() {
        changed();
    }

    /** A line for the person, shown until the next line they type. */
    public void notice(String text) {
        this.notice = text;
        changed();
    }

    protected String noticeText() {
        return notice;
    }

    /** The person pressed Enter on {@code line}. */
    public void entered(String line) {
        notice = null;
    }

    /** A message was stored in the outbox. */
    public void sent(String clientId) {
        changed();
    }

    /** Something shown may have changed. */
    protected abstract void changed();

    /** Gives the terminal back as it was. */
    public abstract void close();

    @Override
    public void onMessage(Message message) {
        changed();
    }

    @Override
    public void onStateChanged(Message message) {
        changed();
    }

    @Override
    public void onConnectionChanged(ConnectionStatus status) {
        changed();
    }

    @Override
    public void onSafetyNumberChanged(String user, String safetyNumber) {
        notice("safety number changed for " + user + ": " + safetyNumber + " (a device of " + user
            + " has a new key or was added or removed; compare the number with " + user + " before trusting it)");
    }

    @Override
    public void onPresence(Presence p) {
        presence.put(p.user(), p);
        changed();
    }

    /** Marks the open conversation read when it has unread messages: they are on the screen. */
    protected void readOpen() {
        String conversation = open;
        CourierClient c = client;
        if (conversation != null && c != null && c.unreadCount(conversation) > 0) {
            c.markRead(conversation);
        }
    }

    static final String HELP = "type to send to the open conversation; /open USER opens one, @USER text sends to "
        + "USER, /list lists conversations, /quit leaves";
}
