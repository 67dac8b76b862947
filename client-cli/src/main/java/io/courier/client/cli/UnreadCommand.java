package io.courier.client.cli;

import io.courier.client.CourierClient;
import io.courier.client.cli.internal.Version;
import io.courier.storage.DeviceId;
import java.nio.file.Files;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** Prints unread counts as this device stored them; needs no server and no token. */
@Command(name = "unread", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = {"Print how many messages this device has stored and not marked read: one line 'USER COUNT' "
        + "per conversation, or only the count of the conversation with USER.",
        "Reads only the local database: no server, no token."})
public final class UnreadCommand implements Callable<Integer> {

    @Mixin
    DeviceOptions options;

    @Parameters(index = "0", arity = "0..1", paramLabel = "USER", description = "Only this conversation.")
    String peer;

    @Override
    public Integer call() {
        if (peer != null && !DeviceId.isValidId(peer)) {
            throw new CliFailure("'" + peer + "' is not a user id: " + DeviceId.SYNTAX, Main.BAD_INPUT);
        }
        if (!Files.exists(options.database())) {
            // Nothing stored, nothing unread; opening would create an empty database for a device that never ran.
            if (peer != null) {
                System.out.println(0);
            }
            return 0;
        }
        try (CourierClient client = options.local()) {
            if (peer != null) {
                System.out.println(client.unreadCount(peer));
            } else {
                for (Map.Entry<String, Integer> e : client.unreadCounts().entrySet()) {
                    System.out.println(e.getKey() + " " + e.getValue());
                }
            }
        }
        return 0;
    }
}
