package io.courier.client;

/**
 * The server refused a request for good ({@link CourierClient#lastSeen}, a privacy change): the
 * code is the server's error code name (for example {@code INVALID_ARGUMENT}, or
 * {@code PROTOCOL_VIOLATION} from a server too old to know the request), the message its text.
 * Refusals that say "later" ({@code OVERLOADED}, {@code RATE_LIMITED}, {@code SHUTTING_DOWN}...)
 * are not reported: the client asks again.
 */
public final class CourierRequestException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String code;

    public CourierRequestException(String code, String message) {
        super(message);
        this.code = code;
    }

    /** The server's error code, e.g. {@code INVALID_ARGUMENT}. */
    public String code() {
        return code;
    }
}
