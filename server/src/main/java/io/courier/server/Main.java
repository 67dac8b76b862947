package io.courier.server;

import io.courier.router.auth.HmacAuthenticatorProvider;
import io.courier.router.auth.HmacKeyring;
import io.courier.router.auth.HmacTokenAuthenticator;
import io.courier.server.cli.CliFailure;
import io.courier.server.cli.HmacAdmin;
import io.courier.server.cli.KeyCommand;
import io.courier.server.cli.RevokeCommand;
import io.courier.server.internal.Version;
import io.courier.storage.DeviceId;
import io.courier.storage.StorageException;
import io.courier.transport.TransportException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The {@code courier-server} executable: run the server (default), mint tokens, manage keys. */
@Command(name = "courier-server", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = "Courier messaging server. With no sub-command, runs the server.",
    subcommands = {Main.TokenCommand.class, KeyCommand.class})
public final class Main implements Callable<Integer> {

    /** Exit status of a configuration or start-up mistake (as for a bad command line). */
    static final int BAD_CONFIGURATION = 2;

    /**
     * Exit status when an Error the process cannot recover from (the heap exhausted, say) reached a
     * thread's uncaught-exception handler: the server stops at once rather than serve half-alive,
     * for its supervisor to restart it. Nothing acknowledged is lost: single ticks go out only after
     * their commit.
     */
    static final int FATAL_ERROR = 70;

    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    /** How a person starts the server from the repository, for messages that tell them to. */
    public static final String START_COMMAND = "java -jar server/target/courier-server.jar";

    @Option(names = {"-c", "--config"}, description = "YAML configuration file (see courier.example.yaml).")
    Path config;

    @Option(names = {"-s", "--set"}, description = "Override one key, e.g. --set transports.tcp.port=7200. Repeatable.")
    List<String> overrides = new ArrayList<>();

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).setExecutionExceptionHandler(Main::handle).execute(args));
    }

    private static int handle(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) throws Exception {
        // Configuration and start-up mistakes are for a person: one line, no stack trace.
        if (e instanceof CliFailure failure) {
            cmd.getErr().println("courier: " + failure.getMessage());
            return failure.exitStatus();
        }
        if (e instanceof ConfigException || e instanceof StorageException || e instanceof TransportException) {
            cmd.getErr().println("courier: " + e.getMessage());
            return BAD_CONFIGURATION;
        }
        // Anything else is a bug: picocli prints the stack trace, which is what a report needs.
        throw e;
    }

    @Override
    public Integer call() throws InterruptedException {
        stopOnFatalErrors();
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

    /**
     * Makes an Error that no one handled stop the process ({@link #FATAL_ERROR}): the transports
     * hand those they cannot recover from here ({@link io.courier.transport.IoThreadErrors}), and an
     * Error that ends any other thread (the storage writer's, say) would leave the server running
     * without it. An exception that ends a thread is logged.
     */
    private static void stopOnFatalErrors() {
        Thread.setDefaultUncaughtExceptionHandler((thread, failure) -> {
            if (!(failure instanceof Error)) {
                LOG.error("Uncaught exception on thread {}", thread.getName(), failure);
                return;
            }
            try {
                LOG.error("{} on thread {} cannot be recovered from; stopping the server (exit status {})",
                    failure.getClass().getSimpleName(), thread.getName(), FATAL_ERROR, failure);
            } finally {
                Runtime.getRuntime().halt(FATAL_ERROR);
            }
        });
    }

    /** Mints an HMAC token for a user with the server's active key; {@code token revoke} signs a user out. */
    @Command(name = "token", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Print a signed token that lets USER say hello to this server.",
        subcommands = {RevokeCommand.class})
    static final class TokenCommand implements Callable<Integer> {

        // Optional to picocli, so that 'token revoke USER' need not name a user for 'token' too.
        @Parameters(index = "0", arity = "0..1", paramLabel = "USER", description = "The user id ("
            + DeviceId.SYNTAX + ").")
        String user;

        @Option(names = "--ttl", defaultValue = "P30D", description = "Validity as an ISO-8601 duration (default "
            + "${DEFAULT-VALUE}), at most auth.options.max-token-ttl.")
        Duration ttl;

        @Option(names = "--device", paramLabel = "DEVICE", description = "Bind the token to this device of USER: it "
            + "works for no other. By default it works for any.")
        String device;

        @Option(names = {"-c", "--config"}, description = "The server's YAML configuration (for data-dir and auth.options).")
        Path config;

        @Option(names = {"-s", "--set"}, description = "Override one configuration key. Repeatable.")
        List<String> overrides = new ArrayList<>();

        @Override
        public Integer call() {
            if (user == null) {
                throw new ConfigException("token needs the USER to mint a token for, e.g. 'courier-server token alice'; "
                    + "'courier-server token revoke USER' signs one out");
            }
            if (!DeviceId.isValidId(user)) {
                throw new ConfigException("'" + user + "' is not a user id: " + DeviceId.SYNTAX);
            }
            if (device != null && !DeviceId.isValidId(device)) {
                throw new ConfigException("--device '" + device + "' is not a device id: " + DeviceId.SYNTAX);
            }
            ServerConfig serverConfig = HmacAdmin.load(config, overrides, "tokens to mint");
            System.out.println(mint(serverConfig, user, device == null ? HmacTokenAuthenticator.ANY_DEVICE : device, ttl));
            return 0;
        }
    }

    /**
     * A token for {@code user} on {@code device} ({@link HmacTokenAuthenticator#ANY_DEVICE} for
     * any), issued now and valid for {@code ttl}, signed with the active key of the keys
     * {@code config} names. The keys must exist: the server creates them when it first starts, and
     * a token signed with a key of our own making would be refused by it.
     *
     * @throws ConfigException when {@code ttl} is not above zero or is above
     *     {@code auth.options.max-token-ttl}, or naming the key directory when it holds no key.
     */
    public static String mint(ServerConfig config, String user, String device, Duration ttl) {
        Duration max = HmacAuthenticatorProvider.MAX_TOKEN_TTL.durationIn(config.auth().options());
        if (ttl.isNegative() || ttl.isZero()) {
            throw new ConfigException("--ttl " + ttl + " must be above zero, e.g. P7D or PT12H");
        }
        if (ttl.compareTo(max) > 0) {
            String longest = HmacTokenAuthenticator.describe(max);
            throw new ConfigException("--ttl " + HmacTokenAuthenticator.describe(ttl) + " is longer than tokens may live, "
                + longest + " (auth.options.max-token-ttl): the server would refuse it; ask for " + longest
                + " or less, or raise auth.options.max-token-ttl");
        }
        HmacKeyring keys = HmacAdmin.keys(config);
        if (keys.isEmpty()) {
            throw new ConfigException("no HMAC key in " + keys.directory() + " to sign a token with; the server "
                + "creates one when it first starts: start it (" + START_COMMAND + "), or point at its configuration "
                + "with --config FILE or --set data-dir=DIR");
        }
        long now = System.currentTimeMillis();
        return HmacTokenAuthenticator.mint(keys, user, device, now, now + ttl.toMillis());
    }
}
