package io.courier.client.cli;

import io.courier.client.CourierClient;
import io.courier.client.cli.internal.ChatView;
import io.courier.client.cli.internal.Version;
import io.courier.storage.DeviceId;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * The interactive chat. What is typed goes to the open conversation at once, into the device's
 * outbox, connected or not; the status line says whether the client is connecting, connected, or
 * offline with how many messages queued, and the ticks of each message change in place.
 */
@Command(name = "chat", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = {"Chat from a terminal. Type a line and press Enter to send it to the open conversation; "
        + "'/open USER' opens another, '@USER text' sends to USER, '/file PATH' sends a file (files received are saved "
        + "in the media folder), '/list' shows every conversation, '/quit' leaves.",
        "Ticks: 'queued' (in this device's outbox), \u2713 (the server has it), \u2713\u2713 (the recipient's device "
            + "has it), blue \u2713\u2713 (read; 'read' without colour).",
        "Beside the open conversation's name and your contacts' names: 'online' or 'last seen ...', as far as "
            + "their privacy settings and yours show it (see 'courier privacy' and 'courier contacts')."})
public final class ChatCommand implements Callable<Integer> {

    /** The longest wait between two connection attempts: a person is watching. */
    static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

    @Mixin
    DeviceOptions options;

    @Parameters(index = "0", arity = "0..1", paramLabel = "PEER", description = "The conversation to open.")
    String peer;

    @Override
    public Integer call() throws IOException {
        String user = options.user();
        if (peer != null && !DeviceId.isValidId(peer)) {
            throw new CliFailure("'" + peer + "' is not a user id: " + DeviceId.SYNTAX, Main.BAD_INPUT);
        }
        String who = user + "/" + options.device;
        ChatView view = ChatView.forThisTerminal(who, options.server().toString(), peer);
        Path database = options.database();
        if (view.fullScreen()) {
            // Log lines would scribble over the screen: they go to a file beside the database.
            Path log = database.resolveSibling(database.getFileName() + ".log");
            Files.createDirectories(log.getParent());
            System.setProperty("org.slf4j.simpleLogger.logFile", log.toString());
        }
        Downloads downloads = new Downloads(view);
        CourierClient client = options.connect(view, MAX_BACKOFF, downloads);
        downloads.start(client);
        AtomicBoolean ended = new AtomicBoolean();
        Runnable end = () -> {
            if (ended.compareAndSet(false, true)) {
                view.close();
                int queued = client.status().queued();
                client.close();
                if (queued > 0) {
                    System.out.println(queued + (queued == 1 ? " message" : " messages") + " queued in " + database
                        + "; they go out the next time 'courier chat' or 'courier send' runs as " + who);
                }
            }
        };
        // Ctrl-C ends the process: the terminal is given back and the database closed all the same.
        Thread hook = new Thread(end, "courier-chat-exit");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            view.start(client);
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                view.entered(line);
                if (!handle(line, client, view)) {
                    break;
                }
            }
        } finally {
            end.run();
            Runtime.getRuntime().removeShutdownHook(hook);
        }
        return 0;
    }

    /** Acts on one typed line; false to leave. */
    private static boolean handle(String line, CourierClient client, ChatView view) {
        String text = line.strip();
        if (text.isEmpty()) {
            return true;
        }
        if (text.equals("/quit") || text.equals("/exit")) {
            return false;
        }
        if (text.equals("/list") || text.equals("/close")) {
            view.open(null);
        } else if (text.equals("/help")) {
            view.notice(helpText());
        } else if (text.startsWith("/open ") || text.startsWith("/to ")) {
            String who = text.substring(text.indexOf(' ') + 1).strip();
            if (DeviceId.isValidId(who)) {
                view.open(who);
            } else {
                view.notice("'" + who + "' is not a user id: " + DeviceId.SYNTAX);
            }
        } else if (text.startsWith("@")) {
            int space = text.indexOf(' ');
            String who = space < 0 ? text.substring(1) : text.substring(1, space);
            if (!DeviceId.isValidId(who)) {
                view.notice("'" + who + "' is not a user id: " + DeviceId.SYNTAX);
            } else {
                view.open(who);
                if (space > 0) {
                    send(client, view, who, text.substring(space + 1).strip());
                }
            }
        } else if (text.startsWith("/file ")) {
            Path file = Path.of(text.substring(6).strip());
            if (view.open() == null) {
                view.notice("open a conversation first: /open USER");
            } else {
                try {
                    view.sent(client.sendMedia(view.open(), file, SendCommand.guessType(file)));
                } catch (IllegalArgumentException | io.courier.client.CourierMediaException refused) {
                    view.notice(refused.getMessage());
                }
            }
        } else if (text.startsWith("/") && !text.startsWith("//")) {
            view.notice("unknown command '" + text.split("\\s+")[0] + "': " + helpText());
        } else if (view.open() == null) {
            view.notice("open a conversation first: /open USER, or @USER text");
        } else {
            send(client, view, view.open(), text.startsWith("//") ? text.substring(1) : text);
        }
        return true;
    }

    private static void send(CourierClient client, ChatView view, String to, String text) {
        try {
            view.sent(client.sendText(to, text));
        } catch (IllegalArgumentException refused) {
            // Too large, or no user id: nothing was stored.
            view.notice(refused.getMessage());
        }
    }

    /**
     * Saves every file that arrives into the media folder as it arrives, and says where. Messages
     * that arrive before the client is known wait for it.
     */
    static final class Downloads implements io.courier.client.CourierListener {
        private final ChatView view;
        private final java.util.List<io.courier.client.Message> early = new java.util.ArrayList<>();
        private CourierClient client;

        Downloads(ChatView view) {
            this.view = view;
        }

        synchronized void start(CourierClient client) {
            this.client = client;
            early.forEach(this::fetch);
            early.clear();
        }

        @Override
        public synchronized void onMessage(io.courier.client.Message message) {
            if (message.media() == null || message.media().isLocal()
                || message.direction() != io.courier.client.Direction.INCOMING) {
                return;
            }
            if (client == null) {
                early.add(message);
            } else {
                fetch(message);
            }
        }

        private void fetch(io.courier.client.Message m) {
            String what = m.media().contentType() + " from " + m.sender();
            client.download(m).whenComplete((path, error) -> view.notice(error == null ? "saved " + what + ": " + path
                : "could not save " + what + ": " + (error.getCause() != null && error instanceof java.util.concurrent
                    .CompletionException ? error.getCause().getMessage() : error.getMessage())));
        }
    }

    private static String helpText() {
        return "/open USER, @USER text, /file PATH, /list, /quit";
    }
}
