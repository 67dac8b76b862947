package io.courier.client.cli;

import io.courier.client.ConnectionState;
import io.courier.client.ConnectionStatus;
import io.courier.client.CourierClient;
import io.courier.client.CourierListener;
import io.courier.client.Message;
import io.courier.client.MessageState;
import io.courier.client.cli.internal.Look;
import io.courier.client.cli.internal.Version;
import io.courier.storage.DeviceId;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Sends one message and waits until the server has it (or its recipient's device does). */
@Command(name = "send", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = "Send one text message to USER. It is stored in this device's outbox first: if the server "
        + "cannot be reached in time it stays queued there and goes out with the next chat or send.")
public final class SendCommand implements Callable<Integer> {

    /** How a wait ends. */
    enum Wait { none, sent, delivered }

    @Mixin
    DeviceOptions options;

    @Parameters(index = "0", paramLabel = "USER", description = "The recipient.")
    String to;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "TEXT", description = "The message; words are joined with spaces.")
    List<String> words;

    @Option(names = "--wait", defaultValue = "sent", paramLabel = "UNTIL",
        description = "Return once the message is: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).")
    Wait wait;

    @Option(names = "--timeout", defaultValue = "PT30S", paramLabel = "DURATION",
        description = "How long to wait, as an ISO-8601 duration (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() throws InterruptedException {
        if (!DeviceId.isValidId(to)) {
            throw new CliFailure("'" + to + "' is not a user id: " + DeviceId.SYNTAX, Main.BAD_INPUT);
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new CliFailure("--timeout " + timeout + " must be above zero, e.g. PT30S", Main.BAD_INPUT);
        }
        String who = options.user() + "/" + options.device;
        LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
        CourierListener listener = new CourierListener() {
            @Override
            public void onStateChanged(Message message) {
                events.add(message);
            }

            @Override
            public void onConnectionChanged(ConnectionStatus status) {
                events.add(status);
            }
        };
        Look look = Look.forThisTerminal();
        try (CourierClient client = options.connect(listener, Duration.ofSeconds(2))) {
            String id;
            try {
                id = client.sendText(to, String.join(" ", words));
            } catch (IllegalArgumentException e) {
                throw new CliFailure(e.getMessage(), Main.BAD_INPUT);
            }
            if (wait == Wait.none) {
                System.out.println("queued for " + to + " in " + client.database());
                return 0;
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            MessageState goal = wait == Wait.sent ? MessageState.SENT : MessageState.DELIVERED;
            while (true) {
                Optional<Message> now = client.message(id);
                Message m = now.orElseThrow();
                if (m.state() == MessageState.FAILED) {
                    throw new CliFailure("the server refused the message to " + to + ": " + m.failureCode() + " "
                        + m.failureText(), Main.FAILED);
                }
                if (m.state().compareTo(goal) >= 0) {
                    System.out.println(look.line(m, true));
                    return 0;
                }
                ConnectionStatus status = client.status();
                if (refusedForGood(status)) {
                    throw new CliFailure("the server refused " + who + ": " + status.lastProblem() + "; the message "
                        + "stays queued in " + client.database(), Main.FAILED);
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    String state = m.state() == MessageState.PENDING ? "not sent within " + timeout.toSeconds() + " s"
                        : "sent, not delivered within " + timeout.toSeconds() + " s";
                    String why = status.lastProblem() == null ? "" : " (" + status.lastProblem() + ")";
                    throw new CliFailure(state + why + "; it stays in " + client.database() + " and goes out or gets "
                        + "its ticks the next time 'courier chat' or 'courier send' runs as " + who, Main.FAILED);
                }
                events.poll(left, TimeUnit.NANOSECONDS);
            }
        }
    }

    /** Refusals that trying again with the same token cannot fix. */
    private static boolean refusedForGood(ConnectionStatus status) {
        String problem = status.lastProblem();
        return status.state() != ConnectionState.CONNECTED && problem != null
            && (problem.startsWith("AUTH_FAILED") || problem.startsWith("TOKEN_EXPIRED")
                || problem.startsWith("TOO_MANY_DEVICES") || problem.startsWith("SESSION_REPLACED"));
    }
}
