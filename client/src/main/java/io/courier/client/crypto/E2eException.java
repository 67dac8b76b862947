package io.courier.client.crypto;

import java.util.Objects;

/**
 * Every failure of the end-to-end encryption core: a {@link Reason} a client can store with the
 * undecryptable message, and a message for logs (never containing key material).
 */
public final class E2eException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final Reason reason;

    /** A failure for {@code reason}, described by {@code message}. */
    public E2eException(Reason reason, String message) {
        this(reason, message, null);
    }

    /** A failure for {@code reason}, described by {@code message}, caused by {@code cause}. */
    public E2eException(Reason reason, String message, Throwable cause) {
        super(Objects.requireNonNull(reason, "reason") + ": " + message, cause);
        this.reason = reason;
    }

    /** Why the operation failed. */
    public Reason reason() {
        return reason;
    }
}
