package io.courier.client.cli;

import io.courier.client.CourierClient;
import io.courier.client.PrivacySettings;
import io.courier.client.cli.internal.Version;
import io.courier.storage.DeviceId;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Lists or changes this user's contact list, which the server keeps. */
@Command(name = "contacts", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = {"Print your contact list, or change it: 'contacts add USER...', 'contacts remove USER...', "
        + "'contacts set USER...' (exactly these). Stored by the server, for all your devices.",
        "With 'courier privacy contacts', only your contacts see whether you are online and when you were last "
            + "seen; 'courier chat' shows your contacts' status."})
public final class ContactsCommand implements Callable<Integer> {

    /** What to do with the list. */
    enum Action { list, add, remove, set }

    @Mixin
    DeviceOptions options;

    @Parameters(index = "0", arity = "0..1", defaultValue = "list", paramLabel = "ACTION",
        description = "${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).")
    Action action;

    @Parameters(index = "1..*", arity = "0..*", paramLabel = "USER", description = "The users to add, remove or set.")
    List<String> users = List.of();

    @Option(names = "--timeout", defaultValue = "PT30S", paramLabel = "DURATION",
        description = "How long to wait for the server, as an ISO-8601 duration (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() throws InterruptedException {
        for (String user : users) {
            if (!DeviceId.isValidId(user)) {
                throw new CliFailure("'" + user + "' is not a user id: " + DeviceId.SYNTAX, Main.BAD_INPUT);
            }
        }
        if (action == Action.list && !users.isEmpty()) {
            throw new CliFailure("'contacts list' takes no users; did you mean 'contacts add "
                + String.join(" ", users) + "'?", Main.BAD_INPUT);
        }
        if ((action == Action.add || action == Action.remove) && users.isEmpty()) {
            throw new CliFailure("'contacts " + action + "' needs at least one USER", Main.BAD_INPUT);
        }
        Questions.checked(timeout);
        try (CourierClient client = options.connect(null, Duration.ofSeconds(2))) {
            CompletableFuture<PrivacySettings> answer = switch (action) {
                case list -> client.privacy();
                case add -> client.addContacts(users);
                case remove -> client.removeContacts(users);
                case set -> client.setContacts(users);
            };
            PrivacySettings settings = Questions.await(client, answer, timeout, "the contact list");
            settings.contacts().forEach(System.out::println);
        }
        return 0;
    }
}
