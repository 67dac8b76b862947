package io.courier.storage;

import java.util.Map;
import java.util.OptionalLong;

/**
 * Token revocations: for each user, a time before which every token issued to that user is
 * refused ("sign out everywhere"). An operator writes one now and then; an authenticator reads
 * them all when the server starts and keeps them in memory, since a hello must not wait on
 * storage. Kept in storage rather than beside the server so that servers sharing a database share
 * their revocations.
 *
 * <p>Thread-safe; methods may block.
 */
public interface RevocationStore {

    /**
     * Records that tokens of {@code user} issued before {@code beforeMs} (ms since the epoch) are
     * refused. A user has one cutoff, and it only moves forward: the later of the stored one and
     * {@code beforeMs} is kept, so a revocation never undoes another. Durable when it returns.
     */
    void revokeTokensBefore(String user, long beforeMs);

    /** The user's cutoff, ms since the epoch, if one was ever recorded. */
    OptionalLong tokensRevokedBefore(String user);

    /** Every user's cutoff, by user, sorted by user; empty when none was recorded. */
    Map<String, Long> allTokenRevocations();
}
