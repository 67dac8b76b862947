package io.courier.client.cli;

import io.courier.client.CourierClient;
import io.courier.client.Presence;
import io.courier.client.cli.internal.Look;
import io.courier.client.cli.internal.Version;
import io.courier.storage.DeviceId;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Asks the server whether a user is online, or when they were last seen. */
@Command(name = "last-seen", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = {"Ask the server whether USER is online, or when they were last seen: prints 'USER: online', "
        + "'USER: last seen YYYY-MM-DD HH:MM:SS' (this computer's time zone), or 'USER: last seen unknown' for a "
        + "user the server never saw or whose presence is not shown to you.",
        "Presence is shown mutually: a user sees another's only when each one's privacy setting admits the other "
            + "(see 'courier privacy')."})
public final class LastSeenCommand implements Callable<Integer> {

    @Mixin
    DeviceOptions options;

    @Parameters(index = "0", paramLabel = "USER", description = "The user asked about.")
    String about;

    @Option(names = "--timeout", defaultValue = "PT30S", paramLabel = "DURATION",
        description = "How long to wait for the answer, as an ISO-8601 duration (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() throws InterruptedException {
        if (!DeviceId.isValidId(about)) {
            throw new CliFailure("'" + about + "' is not a user id: " + DeviceId.SYNTAX, Main.BAD_INPUT);
        }
        Questions.checked(timeout);
        try (CourierClient client = options.connect(null, Duration.ofSeconds(2))) {
            Presence presence = Questions.await(client, client.lastSeen(about), timeout, "the question about " + about);
            System.out.println(about + ": " + Look.lastSeen(presence));
        }
        return 0;
    }
}
