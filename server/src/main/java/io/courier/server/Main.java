package io.courier.server;

import io.courier.router.auth.HmacAuthenticatorProvider;
import io.courier.router.auth.HmacTokenAuthenticator;
import io.courier.server.cli.ChatCommand;
import io.courier.storage.DeviceId;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The {@code courier-server} executable: run the server (default), mint tokens, chat. */
@Command(name = "courier-server", mixinStandardHelpOptions = true, version = "courier 0.1.0",
    description = "Courier messaging server. With no sub-command, runs the server.",
    subcommands = {Main.TokenCommand.class, ChatCommand.class})
public final class Main implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, description = "YAML configuration file (see courier.example.yaml).")
    Path config;

    @Option(names = {"-s", "--set"}, description = "Override one key, e.g. --set transports.tcp.port=7200. Repeatable.")
    List<String> overrides = new ArrayList<>();

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).setExecutionExceptionHandler(Main::handle).execute(args));
    }

    private static int handle(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        // Configuration and start-up errors are for a person: the message, not a stack trace.
        if (e instanceof ConfigException || e instanceof io.courier.storage.StorageException
            || e instanceof io.courier.transport.TransportException) {
            cmd.getErr().println("courier: " + e.getMessage());
            return 2;
        }
        throw new IllegalStateException(e);
    }

    @Override
    public Integer call() throws InterruptedException {
        ServerConfig serverConfig = ConfigLoader.load(config, overrides);
        CourierServer server = CourierServer.start(serverConfig);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "courier-shutdown"));
        stopped.await();
        return 0;
    }

    /** Mints an HMAC token for a user with the server's secret. */
    @Command(name = "token", mixinStandardHelpOptions = true,
        description = "Print a signed token that lets USER say hello to this server.")
    static final class TokenCommand implements Callable<Integer> {

        @Parameters(index = "0", description = "The user id (1-64 characters of [A-Za-z0-9._-]).")
        String user;

        @Option(names = "--ttl", defaultValue = "P30D", description = "Validity as an ISO-8601 duration (default ${DEFAULT-VALUE}).")
        Duration ttl;

        @Option(names = {"-c", "--config"}, description = "The server's YAML configuration (for data-dir and auth.secret-file).")
        Path config;

        @Option(names = {"-s", "--set"}, description = "Override one configuration key. Repeatable.")
        List<String> overrides = new ArrayList<>();

        @Override
        public Integer call() {
            if (!DeviceId.isValidId(user)) {
                throw new ConfigException("'" + user + "' is not a user id: 1-64 characters of [A-Za-z0-9._-]");
            }
            ServerConfig serverConfig = ConfigLoader.load(config, overrides);
            System.out.println(mint(serverConfig, user, ttl));
            return 0;
        }
    }

    /** A token for {@code user} signed with the secret {@code config} names, valid for {@code ttl}. */
    public static String mint(ServerConfig config, String user, Duration ttl) {
        HmacTokenAuthenticator hmac = new HmacAuthenticatorProvider().create(config.dataDirectory(), config.auth().options());
        return hmac.mint(user, Instant.now().plus(ttl).getEpochSecond());
    }
}
