package io.courier.client.cli;

import io.courier.client.CourierClient;
import io.courier.client.PresenceVisibility;
import io.courier.client.PrivacySettings;
import io.courier.client.cli.internal.Version;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Shows or chooses who may see this user's presence. */
@Command(name = "privacy", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = {"Show who may see your online status and last seen, or choose: everyone, contacts (the users "
        + "on your contact list, see 'courier contacts') or nobody. Stored by the server, for all your devices.",
        "It works both ways: hiding your presence from someone also hides theirs from you."})
public final class PrivacyCommand implements Callable<Integer> {

    @Mixin
    DeviceOptions options;

    @Parameters(index = "0", arity = "0..1", paramLabel = "WHO",
        description = "everyone, contacts or nobody; without it, the current setting is printed.")
    String who;

    @Option(names = "--timeout", defaultValue = "PT30S", paramLabel = "DURATION",
        description = "How long to wait for the server, as an ISO-8601 duration (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() throws InterruptedException {
        PresenceVisibility visibility = who == null ? null : parse(who);
        Questions.checked(timeout);
        try (CourierClient client = options.connect(null, Duration.ofSeconds(2))) {
            CompletableFuture<PrivacySettings> answer = visibility == null ? client.privacy()
                : client.setPresenceVisibility(visibility);
            print(Questions.await(client, answer, timeout, "the privacy setting"));
        }
        return 0;
    }

    private static PresenceVisibility parse(String text) {
        try {
            return PresenceVisibility.valueOf(text.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new CliFailure("'" + text + "' is not a privacy setting: use everyone, contacts or nobody",
                Main.BAD_INPUT);
        }
    }

    /** The settings as two lines: who sees the presence, and the contact list. */
    static void print(PrivacySettings settings) {
        System.out.println("presence shown to: " + settings.visibility().name().toLowerCase(Locale.ROOT));
        System.out.println("contacts: " + (settings.contacts().isEmpty() ? "none" : String.join(" ", settings.contacts())));
    }
}
