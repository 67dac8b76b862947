package io.courier.client.cli;

import io.courier.client.CourierClient;
import io.courier.client.cli.internal.Version;
import io.courier.storage.DeviceId;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Prints the safety number of this user and another, for the two people to compare. */
@Command(name = "safety-number", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = {"Print the safety number of you and USER: 60 digits over the identity keys of both users' "
        + "devices, as the server hands them out now. Compare it with the one USER sees (in person, or on a call): "
        + "when both are the same, your devices encrypt to each other's real keys.",
        "Implies --encrypt: this device gets its keys (and publishes them) if it has none yet."})
public final class SafetyNumberCommand implements Callable<Integer> {

    @Mixin
    DeviceOptions options;

    @Parameters(index = "0", paramLabel = "USER", description = "The other user.")
    String about;

    @Option(names = "--timeout", defaultValue = "PT30S", paramLabel = "DURATION",
        description = "How long to wait for the keys, as an ISO-8601 duration (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() throws InterruptedException {
        if (!DeviceId.isValidId(about)) {
            throw new CliFailure("'" + about + "' is not a user id: " + DeviceId.SYNTAX, Main.BAD_INPUT);
        }
        Questions.checked(timeout);
        options.encrypt = true;
        try (CourierClient client = options.connect(null, Duration.ofSeconds(2))) {
            String number = Questions.await(client, client.safetyNumber(about), timeout,
                "the keys of " + about);
            System.out.println(about + ": " + number);
        }
        return 0;
    }
}
