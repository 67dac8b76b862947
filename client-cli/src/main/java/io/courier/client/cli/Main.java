package io.courier.client.cli;

import io.courier.client.CourierStoreException;
import io.courier.client.cli.internal.Version;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code courier} executable: a client of a Courier server for a person at a terminal, on the
 * client SDK. {@code chat} is interactive; {@code send}, {@code history}, {@code unread},
 * {@code last-seen}, {@code privacy} and {@code contacts} are for one-off use and scripts.
 */
@Command(name = "courier", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = "A Courier client: chat from a terminal, send one message, read the history and unread counts "
        + "this device has stored, ask when someone was last seen, choose who sees your own presence.",
    subcommands = {ChatCommand.class, SendCommand.class, HistoryCommand.class, UnreadCommand.class,
        LastSeenCommand.class, PrivacyCommand.class, ContactsCommand.class, SafetyNumberCommand.class})
public final class Main implements Callable<Integer> {

    /** Exit status of a mistake in the command line or its settings (as picocli's for a bad option). */
    public static final int BAD_INPUT = 2;

    /** Exit status when the command could not do its job (the server refused, the database is in use...). */
    public static final int FAILED = 1;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit status. */
    public static int run(String... args) {
        return new CommandLine(new Main())
            .setParameterExceptionHandler(Main::badCommandLine)
            .setExecutionExceptionHandler(Main::handle)
            .execute(args);
    }

    @Override
    public Integer call() {
        throw new CliFailure("name a command: chat, send, history, unread, last-seen, privacy, contacts or "
            + "safety-number "
            + "(see 'courier --help')", BAD_INPUT);
    }

    /** A mistake on the command line: one line naming it and where help is, not the whole usage text. */
    private static int badCommandLine(CommandLine.ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        String name = cmd.getCommandSpec().qualifiedName();
        cmd.getErr().println(name + ": " + e.getMessage() + " (see '" + name + " --help')");
        return BAD_INPUT;
    }

    private static int handle(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) throws Exception {
        // Mistakes and refusals are for a person: one line, no stack trace.
        if (e instanceof CliFailure failure) {
            cmd.getErr().println("courier: " + failure.getMessage());
            return failure.exitStatus();
        }
        if (e instanceof CourierStoreException store) {
            cmd.getErr().println("courier: " + store.getMessage());
            return FAILED;
        }
        // Anything else is a bug: picocli prints the stack trace, which is what a report needs.
        throw e;
    }
}
