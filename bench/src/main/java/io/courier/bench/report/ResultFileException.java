package io.courier.bench.report;

/**
 * A result file that cannot be used — missing, unreadable, not JSON, not a courier-bench result —
 * with a message that names it and says what to do. An ordinary mistake, so commands print the
 * message alone.
 */
public final class ResultFileException extends RuntimeException {

    public ResultFileException(String message) {
        super(message);
    }

    public ResultFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
