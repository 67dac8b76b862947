package io.courier.client.cli;

import io.courier.client.CourierClient;
import io.courier.client.Message;
import io.courier.client.cli.internal.Look;
import io.courier.client.cli.internal.Version;
import io.courier.storage.DeviceId;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Prints a conversation as this device stored it; needs no server and no token. */
@Command(name = "history", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = "Print the conversation with USER as this device's database holds it, oldest first, with "
        + "ticks. Reads only the local database: no server, no token.")
public final class HistoryCommand implements Callable<Integer> {

    @Mixin
    DeviceOptions options;

    @Parameters(index = "0", paramLabel = "USER", description = "The other user of the conversation.")
    String peer;

    @Option(names = {"-n", "--limit"}, defaultValue = "50", paramLabel = "N",
        description = "Print the last N messages (default ${DEFAULT-VALUE}).")
    int limit;

    @Override
    public Integer call() {
        if (!DeviceId.isValidId(peer)) {
            throw new CliFailure("'" + peer + "' is not a user id: " + DeviceId.SYNTAX, Main.BAD_INPUT);
        }
        if (limit < 1) {
            throw new CliFailure("--limit " + limit + " must be at least 1", Main.BAD_INPUT);
        }
        Look look = Look.forThisTerminal();
        if (!Files.exists(options.database())) {
            // Opening would create an empty database for a device that never ran.
            System.err.println("courier: no messages with " + peer + ": " + options.database() + " does not exist "
                + "(this device has not chatted or sent yet)");
            return 0;
        }
        try (CourierClient client = options.local()) {
            List<Message> messages = client.history(peer, limit);
            if (messages.isEmpty()) {
                System.err.println("courier: no messages with " + peer + " in " + client.database());
            }
            for (Message m : messages) {
                System.out.println(look.line(m, true));
            }
        }
        return 0;
    }
}
