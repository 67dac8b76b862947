package io.courier.transport;

import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.util.Locale;

/**
 * A server could not listen on its address. {@link #problem()} says why in a way a caller can act
 * on: the Courier server turns an {@link Problem#ADDRESS_IN_USE} into "change
 * {@code transports.NAME.port}" and an {@link Problem#NO_SUCH_ADDRESS} into "change
 * {@code transports.NAME.host}".
 */
public final class ListenException extends TransportException {

    /** Why the address could not be bound. */
    public enum Problem {
        /** Something else listens there (EADDRINUSE). */
        ADDRESS_IN_USE("address already in use"),
        /** The host is not an address of this machine, or does not resolve (EADDRNOTAVAIL). */
        NO_SUCH_ADDRESS("not an address of this machine"),
        /** The port needs privileges this process lacks (EACCES), e.g. below 1024. */
        PERMISSION_DENIED("permission denied"),
        /** Anything else; {@link ListenException#detail()} has the system's words. */
        OTHER("");

        private final String text;

        Problem(String text) {
            this.text = text;
        }
    }

    private final String host;
    private final int port;
    private final Problem problem;
    private final String detail;

    private ListenException(String what, String host, int port, Problem problem, String detail, Throwable cause) {
        super("Cannot listen for " + what + " on " + host + ":" + port + ": " + detail, cause);
        this.host = host;
        this.port = port;
        this.problem = problem;
        this.detail = detail;
    }

    /**
     * Classifies the failure of a bind, whatever library reported it (the JDK, Netty's native
     * transport, Vert.x).
     *
     * @param what    what was to listen, for the message, e.g. {@code "TCP"}.
     * @param failure what the bind threw.
     */
    public static ListenException of(String what, String host, int port, Throwable failure) {
        Problem problem = Problem.OTHER;
        String detail = String.valueOf(failure.getMessage());
        for (Throwable t = failure; t != null; t = t.getCause()) {
            String message = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
            if (t instanceof UnresolvedAddressException || t instanceof UnknownHostException) {
                problem = Problem.NO_SUCH_ADDRESS;
            } else if (message.contains("address already in use")) {
                problem = Problem.ADDRESS_IN_USE;
            } else if (message.contains("cannot assign requested address") || message.contains("unresolved")) {
                problem = Problem.NO_SUCH_ADDRESS;
            } else if (message.contains("permission denied")) {
                problem = Problem.PERMISSION_DENIED;
            } else {
                continue;
            }
            detail = problem.text;
            break;
        }
        return new ListenException(what, host, port, problem, detail, failure);
    }

    /** The host it tried. */
    public String host() {
        return host;
    }

    /** The port it tried. */
    public int port() {
        return port;
    }

    /** Why it failed. */
    public Problem problem() {
        return problem;
    }

    /** Why it failed, in a few words, e.g. {@code "address already in use"}. */
    public String detail() {
        return detail;
    }
}
