package io.courier.client.cli;

import io.courier.client.ConnectionState;
import io.courier.client.ConnectionStatus;
import io.courier.client.CourierClient;
import io.courier.client.CourierRequestException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Waiting for the server's answer to one question, as the commands that ask one do. */
final class Questions {

    /** How often the wait looks at the connection, to stop at once when the server refused this device. */
    private static final long CHECK_MS = 200;

    private Questions() {
    }

    /**
     * The answer, or a {@link CliFailure} naming why there is none: the server refused the question
     * or this device, or gave no answer within {@code timeout}.
     */
    static <T> T await(CourierClient client, CompletableFuture<T> answer, Duration timeout, String what)
        throws InterruptedException {
        String who = client.user() + "/" + client.device();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                return answer.get(CHECK_MS, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof CourierRequestException refused) {
                    throw new CliFailure("the server refused " + what + ": " + refused.code() + " "
                        + refused.getMessage(), Main.FAILED);
                }
                throw new CliFailure("no answer to " + what + ": " + e.getCause().getMessage(), Main.FAILED);
            } catch (TimeoutException notYet) {
                ConnectionStatus status = client.status();
                if (refusedForGood(status)) {
                    throw new CliFailure("the server refused " + who + ": " + status.lastProblem(), Main.FAILED);
                }
                if (System.nanoTime() - deadline >= 0) {
                    String why = status.lastProblem() == null ? "" : " (" + status.lastProblem() + ")";
                    throw new CliFailure("no answer to " + what + " within " + timeout.toSeconds() + " s" + why,
                        Main.FAILED);
                }
            }
        }
    }

    /** Refusals that trying again with the same token cannot fix. */
    static boolean refusedForGood(ConnectionStatus status) {
        String problem = status.lastProblem();
        return status.state() != ConnectionState.CONNECTED && problem != null
            && (problem.startsWith("AUTH_FAILED") || problem.startsWith("TOKEN_EXPIRED")
                || problem.startsWith("TOO_MANY_DEVICES") || problem.startsWith("SESSION_REPLACED"));
    }

    /** A --timeout, checked. */
    static Duration checked(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new CliFailure("--timeout " + timeout + " must be above zero, e.g. PT30S", Main.BAD_INPUT);
        }
        return timeout;
    }
}
