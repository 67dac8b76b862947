package io.courier.transport;

/** A transport could not do what was asked: bind, connect, or write. */
public class TransportException extends RuntimeException {

    public TransportException(String message) {
        super(message);
    }

    public TransportException(String message, Throwable cause) {
        super(message, cause);
    }
}
