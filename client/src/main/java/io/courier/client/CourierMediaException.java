package io.courier.client;

/**
 * A media upload or download that did not succeed: the message text says what went wrong (the
 * URL's answer, the hash that did not match, the file that could not be read or written) and what
 * to do.
 */
public final class CourierMediaException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public CourierMediaException(String message, Throwable cause) {
        super(message, cause);
    }

    public CourierMediaException(String message) {
        super(message);
    }
}
