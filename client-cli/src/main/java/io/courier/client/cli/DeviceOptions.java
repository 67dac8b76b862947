package io.courier.client.cli;

import io.courier.client.CourierClient;
import io.courier.client.CourierListener;
import io.courier.router.auth.HmacAuthenticatorProvider;
import io.courier.router.auth.HmacKeyring;
import io.courier.router.auth.HmacTokenAuthenticator;
import io.courier.storage.DeviceId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Supplier;
import picocli.CommandLine.Option;

/**
 * What every command needs to act as one device of one user: who, which server, which local
 * database, and where the token comes from. Folders are the user's home's, so the executable runs
 * the same from any folder.
 */
public final class DeviceOptions {

    /** The environment variable a token may come from. */
    public static final String TOKEN_VARIABLE = "COURIER_TOKEN";

    /** How long a token minted with {@code --mint-from} lives; a new one is minted for every connection. */
    static final Duration MINTED_TTL = Duration.ofHours(1);

    @Option(names = {"-u", "--user"}, paramLabel = "USER", defaultValue = "${env:COURIER_USER}",
        description = "Who you are (default: $COURIER_USER).")
    String user;

    @Option(names = {"-d", "--device"}, paramLabel = "DEVICE", defaultValue = "1",
        description = "This device's id (default ${DEFAULT-VALUE}); each device keeps its own database.")
    String device;

    @Option(names = "--server", paramLabel = "ADDRESS", defaultValue = "${env:COURIER_SERVER:-tcp://127.0.0.1:7100}",
        description = "The server: tcp://HOST:PORT, udp://HOST:PORT, ws://HOST:PORT/ws or http://HOST:PORT/lp "
            + "(default: $COURIER_SERVER, else tcp://127.0.0.1:7100).")
    String server;

    @Option(names = "--database", paramLabel = "FILE",
        description = "This device's SQLite database: outbox, history, receipts (default ~/.courier/USER/DEVICE.db).")
    Path database;

    @Option(names = "--media-folder", paramLabel = "DIR",
        description = "Where files sent are copied and files received are saved, under received/USER/ "
            + "(default: beside the database, DEVICE-media).")
    Path mediaFolder;

    @Option(names = "--token", paramLabel = "TOKEN",
        description = "Your token. Without it: --token-file, else $" + TOKEN_VARIABLE + ", else ~/.courier/token.")
    String token;

    @Option(names = "--token-file", paramLabel = "FILE", description = "A file holding your token.")
    Path tokenFile;

    @Option(names = "--mint-from", paramLabel = "DATA_DIR",
        description = "Mint a token with the HMAC keys of the Courier server on this machine whose data directory "
            + "is DATA_DIR (its auth-keys folder), instead of bringing one.")
    Path mintFrom;

    @Option(names = "--encrypt", description = "Encrypt end to end in Signal mode (X3DH and the Double Ratchet): "
        + "this device publishes its keys, and messages go out encrypted for each receiving device. Without it "
        + "messages go out plain, except in conversations with a --shared-key.")
    boolean encrypt;

    @Option(names = "--shared-key", paramLabel = "USER=FILE",
        description = "Encrypt the conversation with USER with a pre-shared 256-bit key: FILE holds it as 64 hex "
            + "digits. Repeatable; the key is kept in the database, so it is needed once.")
    Map<String, Path> sharedKeys = new java.util.LinkedHashMap<>();

    /** The user's home: $HOME as a shell's {@code ~} means it, else the JVM's idea of it. */
    static Path home() {
        String home = System.getenv("HOME");
        return Path.of(home != null && !home.isBlank() ? home : System.getProperty("user.home"));
    }

    /** The default token file. */
    static Path defaultTokenFile() {
        return home().resolve(".courier").resolve("token");
    }

    /** The user, checked. */
    String user() {
        if (user == null || user.isBlank()) {
            throw new CliFailure("who are you? pass --user USER (or set COURIER_USER)", Main.BAD_INPUT);
        }
        if (!DeviceId.isValidId(user)) {
            throw new CliFailure("--user '" + user + "' is not a user id: " + DeviceId.SYNTAX, Main.BAD_INPUT);
        }
        if (!DeviceId.isValidId(device)) {
            throw new CliFailure("--device '" + device + "' is not a device id: " + DeviceId.SYNTAX, Main.BAD_INPUT);
        }
        return user;
    }

    /** The server address, checked for a scheme a transport serves. */
    URI server() {
        try {
            URI uri = new URI(server);
            String scheme = String.valueOf(uri.getScheme());
            if (!scheme.matches("tcp|udp|wss?|https?") || uri.getHost() == null) {
                throw new java.net.URISyntaxException(server, "not an address Courier serves");
            }
            return uri;
        } catch (java.net.URISyntaxException e) {
            throw new CliFailure("--server '" + server + "' is not a server address: use tcp://HOST:PORT, "
                + "udp://HOST:PORT, ws://HOST:PORT/ws or http://HOST:PORT/lp", Main.BAD_INPUT);
        }
    }

    /** The database file of this user's device. */
    Path database() {
        return database != null ? database.toAbsolutePath()
            : home().resolve(".courier").resolve(user()).resolve(device + ".db");
    }

    /**
     * Where the token comes from, asked before every connection (so a token file that was replaced
     * is read again, and a minted token is always fresh).
     *
     * @throws CliFailure when there is no token anywhere, or two sources were given
     */
    Supplier<String> tokens() {
        int given = (token != null ? 1 : 0) + (tokenFile != null ? 1 : 0) + (mintFrom != null ? 1 : 0);
        if (given > 1) {
            throw new CliFailure("give one of --token, --token-file and --mint-from", Main.BAD_INPUT);
        }
        String who = user();
        if (token != null) {
            String t = token.strip();
            return () -> t;
        }
        if (tokenFile != null) {
            Path file = tokenFile.toAbsolutePath();
            readToken(file, "--token-file");
            return () -> readToken(file, "--token-file");
        }
        if (mintFrom != null) {
            Path keys = HmacAuthenticatorProvider.keyDirectory(mintFrom.toAbsolutePath(), Map.of());
            String deviceId = device;
            mint(keys, who, deviceId);
            return () -> mint(keys, who, deviceId);
        }
        String fromEnvironment = System.getenv(TOKEN_VARIABLE);
        if (fromEnvironment != null && !fromEnvironment.isBlank()) {
            String t = fromEnvironment.strip();
            return () -> t;
        }
        Path file = defaultTokenFile();
        if (!Files.exists(file)) {
            throw new CliFailure("no token for " + who + ": pass --token TOKEN, set " + TOKEN_VARIABLE + ", or put it "
                + "in " + file + " (the server's operator prints one with 'courier-server token " + who + "'); "
                + "--mint-from DATA_DIR mints one with the keys of a server on this machine", Main.BAD_INPUT);
        }
        readToken(file, "the token file");
        return () -> readToken(file, "the token file");
    }

    private static String readToken(Path file, String what) {
        try {
            String t = Files.readString(file).strip();
            if (t.isEmpty()) {
                throw new CliFailure(what + " " + file + " is empty: put the token from 'courier-server token USER' "
                    + "in it", Main.BAD_INPUT);
            }
            return t;
        } catch (NoSuchFileException e) {
            throw new CliFailure(what + " " + file + " does not exist", Main.BAD_INPUT);
        } catch (IOException e) {
            throw new CliFailure("cannot read " + what + " " + file + ": " + e.getMessage(), Main.BAD_INPUT);
        }
    }

    private static String mint(Path keyDirectory, String user, String device) {
        HmacKeyring keys;
        try {
            keys = HmacKeyring.read(keyDirectory);
        } catch (IllegalArgumentException | UncheckedIOException e) {
            throw new CliFailure("--mint-from: " + e.getMessage(), Main.BAD_INPUT);
        }
        if (keys.isEmpty()) {
            throw new CliFailure("--mint-from: no HMAC key in " + keyDirectory + "; name the data directory of a "
                + "Courier server that has started at least once (it creates its key then)", Main.BAD_INPUT);
        }
        long now = System.currentTimeMillis();
        return HmacTokenAuthenticator.mint(keys, user, device, now, now + MINTED_TTL.toMillis());
    }

    /** A client of this device that connects (tokens needed). */
    CourierClient connect(CourierListener listener, Duration maxBackoff, CourierListener... more) {
        return build(tokens(), listener, maxBackoff, more);
    }

    /**
     * A client of this device's database that never says hello: for commands that only read what
     * the device has stored, and need no token.
     */
    CourierClient local() {
        return build(() -> null, null, Duration.ofSeconds(30));
    }

    private CourierClient build(Supplier<String> tokens, CourierListener listener, Duration maxBackoff,
                                CourierListener... more) {
        Map<String, byte[]> keys = sharedKeys();
        CourierClient.Builder builder = CourierClient.builder()
            .encryption(encrypt ? io.courier.client.Encryption.SIGNAL : io.courier.client.Encryption.NONE)
            .server(server())
            .user(user())
            .device(device)
            .token(tokens)
            .database(database())
            .backoff(Duration.ofMillis(250), maxBackoff)
            .clientAgent("courier-cli/" + io.courier.client.cli.internal.Version.current());
        if (listener != null) {
            builder.listener(listener);
        }
        for (CourierListener l : more) {
            builder.listener(l);
        }
        if (mediaFolder != null) {
            builder.mediaFolder(mediaFolder.toAbsolutePath());
        }
        CourierClient client;
        try {
            client = builder.build();
        } catch (IllegalArgumentException e) {
            throw new CliFailure(e.getMessage(), Main.BAD_INPUT);
        }
        keys.forEach(client::setSharedKey);
        return client;
    }

    /** The --shared-key files read, checked: 32 bytes each as 64 hex digits. */
    private Map<String, byte[]> sharedKeys() {
        Map<String, byte[]> keys = new java.util.LinkedHashMap<>();
        for (Map.Entry<String, Path> e : sharedKeys.entrySet()) {
            if (!DeviceId.isValidId(e.getKey())) {
                throw new CliFailure("--shared-key " + e.getKey() + "=...: '" + e.getKey() + "' is not a user id: "
                    + DeviceId.SYNTAX, Main.BAD_INPUT);
            }
            String hex;
            try {
                hex = Files.readString(e.getValue()).strip();
            } catch (IOException failure) {
                throw new CliFailure("cannot read the shared key file " + e.getValue() + ": " + failure.getMessage(),
                    Main.BAD_INPUT);
            }
            if (!hex.matches("[0-9a-fA-F]{64}")) {
                throw new CliFailure("the shared key file " + e.getValue() + " must hold 64 hex digits (a 256-bit key, "
                    + "e.g. from 'openssl rand -hex 32'), not " + hex.length() + " characters", Main.BAD_INPUT);
            }
            keys.put(e.getKey(), java.util.HexFormat.of().parseHex(hex));
        }
        return keys;
    }
}
