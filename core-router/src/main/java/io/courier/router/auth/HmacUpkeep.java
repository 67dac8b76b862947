package io.courier.router.auth;

import io.courier.storage.RevocationStore;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a running HMAC authenticator's keys and revocations current, on one thread of its own,
 * once a second: reads the key directory again when a file in it changed, and does the
 * {@link AuthRequests} that commands left (a revocation is stored before it takes effect and
 * before its request is deleted, so a command that saw its request taken may rely on it).
 * Hellos read what it keeps without waiting: a volatile keyring and a concurrent map.
 */
final class HmacUpkeep implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(HmacUpkeep.class);
    static final long PERIOD_MS = 1_000;

    private final Path keyDirectory;
    private final RevocationStore store;
    private final SignedInSessions sessions;
    private final AuthRequests requests;
    private final Map<String, Long> revokedBefore = new ConcurrentHashMap<>();
    /** Revocations to sign out once more on the next tick (touched by the upkeep thread only). */
    private java.util.List<AuthRequests.Request.Revoke> signOutAgain = new java.util.ArrayList<>();
    private final ScheduledExecutorService thread;
    private volatile HmacKeyring keys;
    private String fingerprint;

    /**
     * Reads every revocation from the store and does the requests already waiting, before it
     * returns: a server accepts no hello with a revoked token, even one revoked while it was down.
     */
    HmacUpkeep(HmacKeyring keys, RevocationStore store, SignedInSessions sessions, AuthRequests requests) {
        this.keyDirectory = keys.directory();
        this.keys = keys;
        this.fingerprint = HmacKeyring.fingerprint(keyDirectory);
        this.store = store;
        this.sessions = sessions;
        this.requests = requests;
        revokedBefore.putAll(store.allTokenRevocations());
        takeRequests();
        thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "courier-auth-upkeep");
            t.setDaemon(true);
            return t;
        });
        thread.scheduleWithFixedDelay(this::tick, PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
    }

    HmacKeyring keys() {
        return keys;
    }

    /** Each user's cutoff; what hellos read. */
    Map<String, Long> revokedBefore() {
        return revokedBefore;
    }

    private void tick() {
        try {
            // A hello checked just before a cutoff took effect may put its session in the table
            // just after the sign-out walked it; a second walk, a tick later, closes that one too.
            java.util.List<AuthRequests.Request.Revoke> again = signOutAgain;
            signOutAgain = new java.util.ArrayList<>();
            for (AuthRequests.Request.Revoke r : again) {
                int closed = sessions.signOut(r.user(), r.beforeMs(), signOutText(r));
                if (closed > 0) {
                    LOG.info("{} more open session{} of '{}' closed, checked just before the revocation", closed,
                        closed == 1 ? "" : "s", r.user());
                }
            }
            if (!HmacKeyring.fingerprint(keyDirectory).equals(fingerprint)) {
                try {
                    reloadKeys();
                } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
                    LOG.error("The HMAC keys in {} changed but cannot be read ({}); tokens are still checked with keys {}",
                        keyDirectory, e.getMessage(), ids(keys));
                }
            }
            takeRequests();
        } catch (RuntimeException e) {
            // The thread must live on: the next tick tries again, and hellos go on with what they have.
            LOG.error("Keeping the HMAC keys and revocations current failed (tried again in {} ms): {}", PERIOD_MS,
                e.getMessage(), e);
        }
    }

    /**
     * Reads the key directory again. Whatever the outcome, the directory as it is now counts as
     * seen, so a key that cannot be read is reported once, not every second.
     *
     * @throws IllegalArgumentException or {@link java.io.UncheckedIOException} when a key cannot
     *     be read; the keys in memory stay.
     */
    private void reloadKeys() {
        String before = fingerprint;
        fingerprint = HmacKeyring.fingerprint(keyDirectory);
        HmacKeyring read = HmacKeyring.read(keyDirectory);
        if (read.isEmpty()) {
            // Every key gone would refuse every token: keep the ones in memory, and say why.
            LOG.error("The HMAC key directory {} holds no key any more; tokens are still checked with keys {} until "
                + "one is added (courier-server key rotate) or the server restarts", keyDirectory, ids(keys));
            return;
        }
        keys = read;
        if (!fingerprint.equals(before)) {
            LOG.info("HMAC keys read again from {}: {} (active: {})", keyDirectory, ids(read), read.activeId());
        }
    }

    private static java.util.List<Integer> ids(HmacKeyring keys) {
        return keys.keys().stream().map(HmacKeyring.KeyInfo::id).toList();
    }

    private void takeRequests() {
        for (AuthRequests.Pending pending : requests.pending()) {
            try {
                if (pending.request() instanceof AuthRequests.Request.Revoke r) {
                    store.revokeTokensBefore(r.user(), r.beforeMs());
                    revokedBefore.merge(r.user(), r.beforeMs(), Math::max);
                    // Hellos are refused from here on; connections that said hello with such a token go too.
                    int closed = sessions.signOut(r.user(), r.beforeMs(), signOutText(r));
                    signOutAgain.add(r);
                    LOG.info("Tokens of '{}' issued before {} are refused from now on; {} open session{} closed",
                        r.user(), java.time.Instant.ofEpochMilli(r.beforeMs()), closed, closed == 1 ? "" : "s");
                } else {
                    reloadKeys();
                }
                requests.done(pending);
            } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
                LOG.error("Could not do {}: {}", pending.file(), e.getMessage());
                requests.failed(pending, e.getMessage());
            }
        }
    }

    private static String signOutText(AuthRequests.Request.Revoke r) {
        return "Your token was revoked: tokens of '" + r.user() + "' issued before "
            + java.time.Instant.ofEpochMilli(r.beforeMs()) + " are refused; sign in again with a new one";
    }

    /** Stops the thread and releases the requests' lock. */
    @Override
    public void close() {
        thread.shutdownNow();
        try {
            if (!thread.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("The HMAC upkeep thread did not stop within 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            requests.close();
        }
    }
}
