package io.courier.server.cli;

import io.courier.router.auth.AuthRequests;
import io.courier.server.ConfigException;
import io.courier.server.ServerConfig;
import io.courier.server.internal.Version;
import io.courier.storage.DeviceId;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code courier-server token revoke USER [--before INSTANT]}: every token of USER issued before
 * the instant (now by default) is refused, on every device. The server running on the data
 * directory records it in storage and applies it before this command returns; with none running,
 * the next server to start does so before it accepts a connection.
 */
@Command(name = "revoke", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = "Refuse every token of USER issued before --before (default: now): sign USER out everywhere.")
public final class RevokeCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "USER", description = "The user id.")
    String user;

    @Option(names = "--before", paramLabel = "INSTANT",
        description = "Refuse tokens issued before this ISO-8601 instant, e.g. 2026-01-31T12:00:00Z (default: now).")
    Instant before;

    @Option(names = {"-c", "--config"}, description = "The server's YAML configuration (for data-dir).")
    Path config;

    @Option(names = {"-s", "--set"}, description = "Override one configuration key. Repeatable.")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() {
        if (!DeviceId.isValidId(user)) {
            throw new ConfigException("'" + user + "' is not a user id: " + DeviceId.SYNTAX);
        }
        Instant now = Instant.now();
        Instant cutoff = before == null ? now : before;
        if (cutoff.isAfter(now)) {
            throw new ConfigException("--before " + cutoff + " is in the future: a revocation refuses tokens issued "
                + "before a time that has come; give one up to now, or leave --before out for now");
        }
        ServerConfig serverConfig = HmacAdmin.load(config, overrides, "tokens to revoke");
        String told = HmacAdmin.tellServer(serverConfig, new AuthRequests.Request.Revoke(user, cutoff.toEpochMilli()),
            "applies the revocation");
        System.out.println("Tokens of " + user + " issued before " + cutoff + " are refused." + " " + told
            + (serverConfig.storage().backend().equals("memory")
                ? " (storage.backend is 'memory': the revocation lasts until the server stops.)" : ""));
        return 0;
    }
}
