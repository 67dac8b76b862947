package io.courier.client.cli;

/**
 * A command could not do its job for a reason a person can fix (no token, a bad address, a
 * refused login); the executable prints the message on one line and exits with the status.
 */
public final class CliFailure extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int exitStatus;

    public CliFailure(String message, int exitStatus) {
        super(message);
        this.exitStatus = exitStatus;
    }

    /** What the process exits with. */
    public int exitStatus() {
        return exitStatus;
    }
}
