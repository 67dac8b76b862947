package io.courier.server.cli;

import io.courier.server.ConfigException;
import io.courier.server.ConfigLoader;
import io.courier.server.Main;
import io.courier.server.ServerConfig;
import io.courier.server.internal.Version;
import io.courier.transport.TransportProvider;
import io.courier.transport.ClientConnection;
import io.courier.transport.ClientListener;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportException;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.DeliveryAck;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Heartbeat;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.ReadReceipt;
import io.courier.transport.proto.Send;
import com.google.protobuf.ByteString;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A small terminal chat client, enough to see single, double and blue ticks by hand until the
 * client SDK lands. Lines typed as {@code @bob hello} send; {@code /read} marks everything
 * received as read; {@code /quit} leaves.
 */
@Command(name = "chat", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = "Chat from a terminal: '@USER text' sends, '/read' sends read receipts, '/quit' leaves.")
public final class ChatCommand implements Callable<Integer> {

    @Option(names = {"-u", "--user"}, required = true, description = "Who you are.")
    String user;

    @Option(names = {"-d", "--device"}, defaultValue = "1", description = "Your device id (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--server", defaultValue = "tcp://127.0.0.1:7100",
        description = "Server address: tcp://, udp://, ws://…/ws or http://…/lp (default ${DEFAULT-VALUE}).")
    URI server;

    @Option(names = "--token", description = "Your token; by default one is minted with the local server's keys.")
    String token;

    @Option(names = {"-c", "--config"}, description = "The local server's configuration, to find its keys.")
    Path config;

    @Option(names = {"-s", "--set"}, description = "Override one key of that configuration, e.g. --set data-dir=DIR. Repeatable.")
    List<String> overrides = new ArrayList<>();

    private static final int CONNECT_TIMEOUT_SECONDS = 10;

    private final List<Long> unread = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        TransportProvider transport = transportFor(server);
        try (TransportClient client = transport.createClient(TransportSettings.of(0));
             BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            Printer printer = new Printer(out);
            ClientConnection connection = connect(client, printer);
            printer.connection = connection;
            if (token == null) {
                ServerConfig serverConfig = ConfigLoader.load(config, overrides);
                try {
                    // Bound to this device, for a day or the longest the server allows.
                    Duration max = io.courier.router.auth.HmacAuthenticatorProvider.MAX_TOKEN_TTL
                        .durationIn(serverConfig.auth().options());
                    token = Main.mint(serverConfig, user, device, max.compareTo(Duration.ofDays(1)) < 0 ? max
                        : Duration.ofDays(1));
                } catch (ConfigException e) {
                    throw new ConfigException(e.getMessage() + "; or pass --token with one from that server's "
                        + "`courier-server token " + user + "`");
                }
            }
            connection.send(Frame.newBuilder().setHello(Hello.newBuilder().setUser(user).setDevice(device)
                .setToken(token).setClientAgent("courier-cli/0.1")).build());
            // Read what the user types only once the server said welcome (or refused us).
            try {
                printer.welcomed.get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException refused) {
                return 1;
            }
            ScheduledExecutorService beats = Executors.newSingleThreadScheduledExecutor();
            beats.scheduleAtFixedRate(() -> connection.send(Frame.newBuilder().setHeartbeat(Heartbeat.newBuilder()
                .setClientTimeMs(System.currentTimeMillis())).build()), 4, 4, TimeUnit.SECONDS);
            try {
                String line;
                while (connection.isOpen() && (line = in.readLine()) != null) {
                    if (line.equals("/quit")) {
                        break;
                    } else if (line.equals("/read")) {
                        markRead(connection);
                    } else if (line.startsWith("@") && line.indexOf(' ') > 1) {
                        String to = line.substring(1, line.indexOf(' '));
                        String text = line.substring(line.indexOf(' ') + 1);
                        String clientId = UUID.randomUUID().toString();
                        try {
                            connection.send(Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId(clientId)
                                .setRecipient(to).setContentType("text/plain")
                                .setPayload(ByteString.copyFromUtf8(text))).build());
                            out.println("  (sending " + clientId.substring(0, 8) + " to " + to + ")");
                        } catch (io.courier.transport.TransportException refused) {
                            out.println("! not sent: " + refused.getMessage());
                        }
                    } else if (!line.isBlank()) {
                        out.println("  type '@USER text' to send, '/read' to send read receipts, '/quit' to leave");
                    }
                }
            } finally {
                beats.shutdownNow();
                connection.close();
            }
        }
        return 0;
    }

    /** Addresses name transports by scheme, except long polling, which is plain HTTP. */
    private static TransportProvider transportFor(URI server) {
        String scheme = String.valueOf(server.getScheme());
        String name = scheme.startsWith("http") ? "longpoll" : scheme;
        try {
            return TransportProviders.find(name);
        } catch (IllegalArgumentException e) {
            throw new CliFailure("--server " + server + ": no transport speaks '" + scheme + "'; use tcp://HOST:PORT, "
                + "udp://HOST:PORT, ws://HOST:PORT/ws or http://HOST:PORT/lp", 2);
        }
    }

    private ClientConnection connect(TransportClient client, Printer printer) throws InterruptedException {
        String reason;
        try {
            return client.connect(server, printer).get(CONNECT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            reason = reason(e.getCause());
        } catch (TimeoutException e) {
            reason = "no answer within " + CONNECT_TIMEOUT_SECONDS + " s";
        } catch (IllegalArgumentException | TransportException e) {
            reason = reason(e);
        }
        throw new CliFailure("cannot reach a Courier server at " + server + " (" + reason + "); start one with `"
            + Main.START_COMMAND + "`, or pass --server with the address of a running one", 1);
    }

    private String reason(Throwable failure) {
        String message = String.valueOf(failure.getMessage());
        for (Throwable t = failure; t != null; t = t.getCause()) {
            String text = String.valueOf(t.getMessage()).toLowerCase(java.util.Locale.ROOT);
            if (text.contains("connection refused")) {
                return "connection refused";
            }
            if (text.contains("timed out") || text.contains("timeout")) {
                return "timed out";
            }
            message = String.valueOf(t.getMessage());
        }
        // Clients say "Cannot connect to ADDRESS: why"; the address is in our message already.
        String prefix = "Cannot connect to " + server + ": ";
        return message.startsWith(prefix) ? message.substring(prefix.length()) : message;
    }

    private void markRead(ClientConnection connection) {
        List<Long> ids;
        synchronized (unread) {
            ids = new ArrayList<>(unread);
            unread.clear();
        }
        if (!ids.isEmpty()) {
            connection.send(Frame.newBuilder().setReadReceipt(ReadReceipt.newBuilder().addAllServerMessageIds(ids)).build());
        }
        System.out.println("  (marked " + ids.size() + " read)");
    }

    /** Prints what arrives, acknowledges deliveries and receipts so the sender gets ticks. */
    private final class Printer implements ClientListener {
        private final PrintStream out;
        private volatile ClientConnection connection;
        private final java.util.concurrent.CompletableFuture<Void> welcomed = new java.util.concurrent.CompletableFuture<>();

        Printer(PrintStream out) {
            this.out = out;
        }

        @Override
        public void onFrame(Frame frame) {
            switch (frame.getBodyCase()) {
                case WELCOME -> {
                    out.println("* connected as " + frame.getWelcome().getUser() + "/" + frame.getWelcome().getDevice());
                    welcomed.complete(null);
                }
                case ACCEPTED -> out.println("  \u2713 sent " + frame.getAccepted().getClientMessageId().substring(0, 8)
                    + " (#" + frame.getAccepted().getServerMessageId() + ")");
                case DELIVER -> {
                    var d = frame.getDeliver();
                    out.println("[" + d.getSender() + "] " + d.getPayload().toStringUtf8());
                    synchronized (unread) {
                        unread.add(d.getServerMessageId());
                    }
                    ack(d.getServerMessageId());
                }
                case RECEIPT -> {
                    var r = frame.getReceipt();
                    String ticks = r.getStatus() == io.courier.transport.proto.Receipt.Status.READ
                        ? "\u2713\u2713 read (blue)" : "\u2713\u2713 delivered";
                    out.println("  " + ticks + " " + r.getMessageClientId().substring(0, Math.min(8,
                        r.getMessageClientId().length())) + " by " + r.getByUser());
                    ack(r.getServerMessageId());
                }
                case ERROR -> {
                    out.println("! " + frame.getError().getCode() + ": " + frame.getError().getText());
                    if (frame.getError().getFatal()) {
                        welcomed.completeExceptionally(new IllegalStateException(frame.getError().getText()));
                    }
                }
                default -> out.println("  (" + frame.getBodyCase() + ")");
            }
        }

        private void ack(long serverId) {
            if (connection != null) {
                connection.send(Frame.newBuilder().setDeliveryAck(DeliveryAck.newBuilder().addServerMessageIds(serverId)).build());
            }
        }

        @Override
        public void onClose() {
            welcomed.completeExceptionally(new IllegalStateException("disconnected"));
            out.println("* disconnected");
        }
    }
}
