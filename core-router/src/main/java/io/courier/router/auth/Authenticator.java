package io.courier.router.auth;

/**
 * Checks the credentials of a {@code Hello}. Called on a connection's I/O thread: must be quick
 * and must not block (HMAC verification is; a remote identity service would need a cache).
 */
public interface Authenticator extends AutoCloseable {

    /**
     * @param user   the claimed user id (syntax already checked).
     * @param device the claimed device id (syntax already checked).
     * @param token  the credentials, possibly empty.
     * @param nowMs  the router clock's current time, ms since the epoch.
     * @return success, or failure with the error code and a text for the client.
     */
    AuthResult authenticate(String user, String device, String token, long nowMs);

    /** A name for logs, e.g. {@code "hmac"}. */
    String name();

    /** Releases what it holds (threads, files); called once, when the server stops. Nothing by default. */
    @Override
    default void close() {
    }
}
