package io.courier.storage;

/** A store could not do what was asked. The message says what, and where (path, address). */
public class StorageException extends RuntimeException {

    public StorageException(String message) {
        super(message);
    }

    public StorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
