package io.courier.client.internal;

import io.courier.client.CourierListener;
import io.courier.client.Encryption;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;

/** A client's settings, checked: what the builder collected. */
public record EngineSettings(URI server, String user, String device, Supplier<String> token, Path database,
                             Path mediaFolder, Clock clock, ScheduledExecutorService scheduler, int maxInFlight, Duration unsentAfter,
                             Duration initialBackoff, Duration maxBackoff, String clientAgent,
                             int framesPerSecond, int frameBurst,
                             List<CourierListener> listeners, Encryption encryption) {

    public EngineSettings {
        require(server, "server (the server's address, e.g. tcp://127.0.0.1:7100)");
        require(user, "user");
        require(token, "token (a supplier of the device's token)");
        require(database, "database (the SQLite file to keep the outbox and history in)");
        require(mediaFolder, "mediaFolder (where sent and received files are kept)");
        require(encryption, "encryption");
        if (encryption == Encryption.SHARED_KEY) {
            throw new IllegalArgumentException("encryption is NONE or SIGNAL; shared keys are given per conversation "
                + "with CourierClient.setSharedKey, in either mode");
        }
        if (!Ids.isValidId(user)) {
            throw new IllegalArgumentException("user " + Ids.quote(user) + " is not a user id: " + Ids.SYNTAX);
        }
        if (!Ids.isValidId(device)) {
            throw new IllegalArgumentException("device " + Ids.quote(device) + " is not a device id: " + Ids.SYNTAX);
        }
        Transports.nameFor(server); // refuses an address no transport serves, naming it
    }

    private static void require(Object value, String what) {
        if (value == null) {
            throw new IllegalArgumentException("CourierClient.builder() needs " + what);
        }
    }
}
