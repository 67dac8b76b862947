package io.courier.server.cli;

import io.courier.router.auth.AuthRequests;
import io.courier.router.auth.HmacAuthenticatorProvider;
import io.courier.router.auth.HmacKeyring;
import io.courier.server.ConfigException;
import io.courier.server.ConfigLoader;
import io.courier.server.ServerConfig;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeoutException;

/**
 * What the commands that manage HMAC tokens and keys share: the server's configuration (which
 * must be {@code auth.mode: hmac}), where its keys are, and how a request reaches the server
 * running on its data directory (through {@link AuthRequests}).
 */
public final class HmacAdmin {

    /** How long a command waits for the running server to take its request. */
    static final Duration PATIENCE = Duration.ofSeconds(10);

    private HmacAdmin() {
    }

    /**
     * The configuration {@code --config} and {@code --set} give, checked to use HMAC tokens.
     *
     * @throws ConfigException when it does not, or is not valid.
     */
    public static ServerConfig load(Path config, List<String> overrides, String what) {
        ServerConfig serverConfig = ConfigLoader.load(config, overrides);
        if (!serverConfig.auth().mode().equals("hmac")) {
            throw new ConfigException("auth.mode is '" + serverConfig.auth().mode() + "', not 'hmac': this server "
                + "does not check HMAC tokens, so there are no " + what);
        }
        return serverConfig;
    }

    /** The key directory of {@code config}, absolute. */
    public static Path keyDirectory(ServerConfig config) {
        return HmacAuthenticatorProvider.keyDirectory(config.dataDirectory(), config.auth().options());
    }

    /**
     * The keys of {@code config}, after moving in the secret of an older Courier if it is still
     * there (as the server would when it starts).
     *
     * @throws ConfigException naming the file when a key cannot be read.
     */
    public static HmacKeyring keys(ServerConfig config) {
        Path dir = keyDirectory(config);
        try {
            HmacKeyring.importLegacy(dir, HmacAuthenticatorProvider.legacySecretFile(config.dataDirectory()));
            return HmacKeyring.read(dir);
        } catch (IllegalArgumentException | UncheckedIOException e) {
            throw new ConfigException(e.getMessage());
        }
    }

    /**
     * Hands {@code request} to the server running on {@code config}'s data directory and waits for
     * it to be done; when none runs, leaves it for the next server to start.
     *
     * @return a sentence saying which happened.
     * @throws CliFailure when the running server could not do it, or did not take it in time.
     */
    static String tellServer(ServerConfig config, AuthRequests.Request request, String what) {
        Path dataDir = config.dataDirectory();
        boolean running;
        Path file;
        try {
            running = AuthRequests.serverRunning(dataDir);
            file = AuthRequests.submit(dataDir, request);
        } catch (UncheckedIOException e) {
            throw new CliFailure("cannot leave the request in " + AuthRequests.directoryOf(dataDir) + ": "
                + e.getMessage() + "; check data-dir and its permissions", 1);
        }
        if (!running) {
            return "No server is running on " + dataDir + ": it " + what + " when it starts, before it accepts a "
                + "connection.";
        }
        try {
            Optional<String> failure = AuthRequests.awaitTaken(file, PATIENCE);
            if (failure.isPresent()) {
                throw new CliFailure("the server running on " + dataDir + " could not do it: " + failure.get(), 1);
            }
            return "The server running on " + dataDir + " has done so.";
        } catch (TimeoutException e) {
            throw new CliFailure("the server running on " + dataDir + " did not take the request within "
                + PATIENCE.toSeconds() + " s; it waits in " + file + " and is done once the server takes it (its log "
                + "says what holds it up)", 1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliFailure("interrupted while waiting for the server; the request waits in " + file, 1);
        }
    }
}
