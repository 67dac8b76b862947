package io.courier.server.cli;

import io.courier.router.auth.AuthRequests;
import io.courier.router.auth.HmacKeyring;
import io.courier.server.ConfigException;
import io.courier.server.ServerConfig;
import io.courier.server.internal.Version;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code courier-server key rotate|list|retire KID}: the HMAC keys in the data directory. A
 * running server reads them again at once when told, and within a second of any change anyway.
 */
@Command(name = "key", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = "Manage the HMAC keys that sign tokens: rotate, list, retire.",
    subcommands = {KeyCommand.Rotate.class, KeyCommand.ListKeys.class, KeyCommand.Retire.class})
public final class KeyCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        throw new ConfigException("key needs a sub-command: rotate, list or retire KID (courier-server key --help)");
    }

    /** The server configuration the key commands read. */
    static final class ConfigOptions {
        @Option(names = {"-c", "--config"}, description = "The server's YAML configuration (for data-dir and auth.options.key-dir).")
        Path config;

        @Option(names = {"-s", "--set"}, description = "Override one configuration key. Repeatable.")
        List<String> overrides = new ArrayList<>();

        ServerConfig load() {
            return HmacAdmin.load(config, overrides, "HMAC keys");
        }
    }

    /** Adds a key, which signs new tokens from now on. */
    @Command(name = "rotate", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Add a new key and make it the one that signs new tokens; older keys keep verifying theirs.")
    static final class Rotate implements Callable<Integer> {
        @Mixin
        ConfigOptions options;

        @Override
        public Integer call() {
            ServerConfig config = options.load();
            HmacKeyring before = HmacAdmin.keys(config);
            int id;
            try {
                id = HmacKeyring.rotate(HmacAdmin.keyDirectory(config));
            } catch (UncheckedIOException e) {
                throw new ConfigException(e.getMessage());
            }
            String others = before.keys().stream().map(k -> Integer.toString(k.id())).collect(Collectors.joining(", "));
            System.out.println("Key " + id + " is the active key now: new tokens are signed with it." + (others.isEmpty()
                ? "" : " Tokens signed with key" + (before.keys().size() > 1 ? "s " : " ") + others + " keep working "
                + "until you retire " + (before.keys().size() > 1 ? "them" : "it") + " (courier-server key retire "
                + before.keys().get(0).id() + ")."));
            System.out.println(HmacAdmin.tellServer(config, new AuthRequests.Request.ReloadKeys(), "reads the keys"));
            return 0;
        }
    }

    /** Lists the keys. */
    @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "List the keys: id, when it was made, and which one signs new tokens.")
    static final class ListKeys implements Callable<Integer> {
        @Mixin
        ConfigOptions options;

        @Override
        public Integer call() {
            ServerConfig config = options.load();
            HmacKeyring keys = HmacAdmin.keys(config);
            if (keys.isEmpty()) {
                System.out.println("No keys in " + keys.directory() + " yet: the server makes key 1 when it first starts.");
                return 0;
            }
            for (HmacKeyring.KeyInfo key : keys.keys()) {
                System.out.println(key.id() + "\tcreated " + key.created() + (key.active() ? "\tactive" : ""));
            }
            return 0;
        }
    }

    /** Deletes a key: the tokens it signed are refused. */
    @Command(name = "retire", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Delete key KID: tokens it signed are refused from then on. The active key cannot be retired.")
    static final class Retire implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "KID", description = "The id of the key, as 'key list' shows it.")
        int id;

        @Mixin
        ConfigOptions options;

        @Override
        public Integer call() {
            ServerConfig config = options.load();
            HmacAdmin.keys(config);
            try {
                HmacKeyring.retire(HmacAdmin.keyDirectory(config), id);
            } catch (IllegalArgumentException | UncheckedIOException e) {
                throw new ConfigException(e.getMessage());
            }
            System.out.println("Key " + id + " is retired: tokens signed with it are refused.");
            System.out.println(HmacAdmin.tellServer(config, new AuthRequests.Request.ReloadKeys(), "reads the keys"));
            return 0;
        }
    }
}
