package io.courier.client;

import java.nio.file.Path;

/**
 * The local database cannot be used: the file is corrupted or is not a Courier database, another
 * process holds it, it is read-only, or the disk failed. The message names the file and what to
 * do. Nothing in the file was changed or deleted by the failed operation.
 */
public final class CourierStoreException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient Path file;

    public CourierStoreException(Path file, String message, Throwable cause) {
        super(message, cause);
        this.file = file;
    }

    /** The database file. */
    public Path file() {
        return file;
    }
}
