package io.courier.transport;

import java.util.Locale;

/**
 * What a transport does with a {@link java.lang.Error} thrown while it serves a connection on an
 * I/O thread: the one policy every transport follows, so that no such error leaves the server
 * half-alive (a connection open that no one serves, a thread that lost its work).
 *
 * <p>Every such error closes the connection it was thrown for and is reported once, with that
 * connection, to {@link ConnectionHandler#onIoThreadError} (the router counts and logs it). Then:
 * <ul>
 *   <li>{@link Kind#OUT_OF_DIRECT_MEMORY} — Netty's {@code OutOfDirectMemoryError}, or the JDK's
 *       {@code OutOfMemoryError} "Cannot reserve … bytes of direct buffer memory": an allocation
 *       for this connection's input or output did not fit. Nothing was corrupted (the allocation
 *       failed before anything used it) and closing the connection returns what it held, so the
 *       server goes on serving everyone else. Recoverable.</li>
 *   <li>{@link Kind#STACK_OVERFLOW} — the input being handled nested too deep; the stack has
 *       unwound, and only this connection's state was in use. Recoverable.</li>
 *   <li>{@link Kind#FATAL} — anything else: the Java heap or metaspace exhausted, threads that
 *       cannot be created, a linkage or internal VM error. It belongs to no one connection and
 *       may have struck any thread mid-update, so the process cannot be trusted to go on. After
 *       closing the connection the transport hands it to the thread's uncaught-exception handler
 *       ({@link #escalate}); the Courier server's handler logs it and stops the process at once,
 *       for its supervisor to restart.</li>
 * </ul>
 */
public final class IoThreadErrors {

    /** How an {@link java.lang.Error} on an I/O thread is treated. */
    public enum Kind {
        /** Direct (off-heap) memory exhausted by an allocation for one connection. Recoverable. */
        OUT_OF_DIRECT_MEMORY(true),
        /** A stack overflow while handling one connection's input. Recoverable. */
        STACK_OVERFLOW(true),
        /** Anything else. The process must stop. */
        FATAL(false);

        private final boolean recoverable;

        Kind(boolean recoverable) {
            this.recoverable = recoverable;
        }

        /** Whether the server may go on after closing the connection. */
        public boolean recoverable() {
            return recoverable;
        }

        /** The name for a metric label, e.g. {@code out_of_direct_memory}. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private IoThreadErrors() {
    }

    /** The kind of {@code error}. */
    public static Kind classify(Throwable error) {
        if (error instanceof StackOverflowError) {
            return Kind.STACK_OVERFLOW;
        }
        if (error instanceof OutOfMemoryError) {
            // Netty's io.netty.util.internal.OutOfDirectMemoryError, by name: this module knows no Netty.
            String message = String.valueOf(error.getMessage()).toLowerCase(Locale.ROOT);
            if (error.getClass().getSimpleName().equals("OutOfDirectMemoryError") || message.contains("direct buffer memory")
                || message.contains("direct memory")) {
                return Kind.OUT_OF_DIRECT_MEMORY;
            }
        }
        return Kind.FATAL;
    }

    /**
     * Hands a {@link Kind#FATAL} error to the current thread's uncaught-exception handler (the
     * Courier server's stops the process); does nothing for a recoverable one. Call after the
     * connection was closed and reported.
     */
    public static void escalate(Throwable error) {
        if (classify(error).recoverable()) {
            return;
        }
        Thread thread = Thread.currentThread();
        thread.getUncaughtExceptionHandler().uncaughtException(thread, error);
    }
}
