package io.courier.client;

import io.courier.client.internal.ClientEngine;
import io.courier.client.internal.EngineSettings;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;

/**
 * A Courier client for one user's device, with its own SQLite database: the outbox, the history
 * of every conversation, receipts and the resume point.
 *
 * <p>{@link #send} stores a message and returns at once, connected or not; the client connects
 * whenever it can, sends what the outbox holds in order, and moves each message through
 * {@link MessageState}. Everything it receives is committed to the database before it is
 * acknowledged to the server, then announced to the {@link CourierListener}s. A process killed at
 * any point loses nothing that {@code send} returned for, nor anything acknowledged.
 *
 * <pre>{@code
 * try (CourierClient alice = CourierClient.builder()
 *         .server(URI.create("tcp://127.0.0.1:7100"))
 *         .user("alice")
 *         .token(() -> System.getenv("COURIER_TOKEN"))
 *         .database(Path.of("alice.db"))
 *         .listener(new CourierListener() {
 *             public void onStateChanged(Message m) { System.out.println(m.clientId() + " " + m.state()); }
 *         })
 *         .build()) {
 *     alice.send("bob", "text/plain", "hi".getBytes(StandardCharsets.UTF_8));
 * }
 * }</pre>
 *
 * <p>Thread-safe. Methods that touch the database wait for the client's own thread and so may
 * block for as long as a local commit takes.
 */
public final class CourierClient implements AutoCloseable {

    private final ClientEngine engine;

    private CourierClient(ClientEngine engine) {
        this.engine = engine;
    }

    /** A builder; {@link Builder#server}, {@link Builder#user}, {@link Builder#token} and {@link Builder#database} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Stores a message to {@code recipient} in the outbox, in one local transaction, and returns
     * its client id at once; it goes out when connected. Messages to one recipient are sent in
     * the order of the calls.
     *
     * @throws IllegalArgumentException when the recipient is not a user id (a payload the server
     *     refuses as too large ends {@link MessageState#FAILED})
     * @throws CourierStoreException when the database cannot be written
     * @throws IllegalStateException when the client is closed
     */
    public String send(String recipient, String contentType, byte[] payload) {
        return engine.send(recipient, contentType, payload);
    }

    /**
     * {@link #send} without waiting: the future completes with the client id once the message is
     * committed to the outbox (exceptionally with {@link CourierStoreException} if it cannot be).
     * Many calls in a row share local commits, so a burst is stored much faster than by
     * {@code send}; a message whose future has not completed may be lost if the process dies.
     *
     * @throws IllegalArgumentException when the recipient is not a user id
     * @throws IllegalStateException when the client is closed
     */
    public java.util.concurrent.CompletableFuture<String> sendAsync(String recipient, String contentType,
                                                                    byte[] payload) {
        return engine.sendAsync(recipient, contentType, payload);
    }

    /**
     * Sends {@code file} to {@code recipient} without it crossing the chat connection: the file is
     * copied into the {@link Builder#mediaFolder media folder} (and hashed) and the message stored
     * in the outbox, in this call; then, when connected, the client asks the server for an upload
     * slot, PUTs the copy over HTTP to the slot's presigned URL, and sends the message with a
     * {@link Media} reference (download URL, type, size, SHA-256). The message is
     * {@link MessageState#PENDING} until the server has it, and gets its ticks like any other. An
     * upload cut short (by a lost network, or a restart of the process) starts again with a new
     * slot. While its upload runs, messages sent after it may go out before it. A server without a
     * media service, or one that refuses the file (too large, say), makes the message
     * {@link MessageState#FAILED} with the server's reason.
     *
     * @param contentType the file's MIME type, e.g. {@code image/png}
     * @param progress    told of the upload's progress in this run; {@link TransferProgress#NONE} for none
     * @return the message's client id
     * @throws IllegalArgumentException when the recipient is not a user id, or the file is not a
     *     readable, non-empty file
     * @throws CourierMediaException when the file cannot be copied into the media folder
     * @throws CourierStoreException when the database cannot be written
     */
    public String sendMedia(String recipient, Path file, String contentType, TransferProgress progress) {
        return engine.sendMedia(recipient, file, contentType, progress);
    }

    /** {@link #sendMedia(String, Path, String, TransferProgress)} without progress reports. */
    public String sendMedia(String recipient, Path file, String contentType) {
        return engine.sendMedia(recipient, file, contentType, TransferProgress.NONE);
    }

    /**
     * The file of a message with {@link Message#media()}, on this device: completes at once when it
     * is here already; otherwise downloads it over HTTP from its URL (never over the chat
     * connection) into the media folder's {@code received/CONVERSATION/} folder, continuing an
     * earlier interrupted download with a Range request, and checks its size and SHA-256 before
     * giving it its name. Completes exceptionally with {@link CourierMediaException} saying why
     * (the URL's answer, a hash that does not match: that file is deleted); calling again resumes.
     */
    public java.util.concurrent.CompletableFuture<Path> download(Message message, TransferProgress progress) {
        return engine.download(message, progress);
    }

    /** {@link #download(Message, TransferProgress)} without progress reports. */
    public java.util.concurrent.CompletableFuture<Path> download(Message message) {
        return engine.download(message, TransferProgress.NONE);
    }

    /** {@link #send} of UTF-8 text with content type {@code text/plain}. */
    public String sendText(String recipient, String text) {
        return send(recipient, "text/plain", text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /**
     * Marks the incoming messages of {@code conversation} with a local id up to {@code upToLocalId}
     * read: stored at once, then read receipts go to the senders (in frames of many ids) when
     * connected.
     *
     * @return how many messages were newly marked read
     */
    public int markRead(String conversation, long upToLocalId) {
        return engine.markRead(conversation, upToLocalId);
    }

    /** Marks every incoming message of {@code conversation} read. */
    public int markRead(String conversation) {
        return engine.markRead(conversation, Long.MAX_VALUE);
    }

    /** The conversation's messages in order, oldest first: the last {@code limit} of them. */
    public List<Message> history(String conversation, int limit) {
        return engine.history(conversation, limit);
    }

    /** The whole conversation, oldest first. */
    public List<Message> history(String conversation) {
        return engine.history(conversation, Integer.MAX_VALUE);
    }

    /** The message this device sent or stored with {@code clientId}, if any (for an incoming one, the sender's id). */
    public Optional<Message> message(String clientId) {
        return engine.message(clientId);
    }

    /** Incoming messages of {@code conversation} not marked read. */
    public int unreadCount(String conversation) {
        return engine.unreadCount(conversation);
    }

    /** Unread counts of every conversation that has unread messages. */
    public Map<String, Integer> unreadCounts() {
        return engine.unreadCounts();
    }

    /** Every conversation this database holds, the most recently active first. */
    public List<String> conversations() {
        return engine.conversations();
    }

    /**
     * Asks the server whether {@code user} is online, or when they were last seen. Sent at once
     * when connected, else on the next connection (and asked again on the next one if the
     * connection ends before the answer), so the future may wait as long as the client is offline:
     * bound it with {@link CompletableFuture#orTimeout}. The answer respects privacy: a user this
     * one may not see is {@link Presence#unknown() unknown}, like one the server never saw.
     *
     * @return the answer; exceptionally {@link CourierRequestException} when the server refuses the
     *     query for good, or {@link IllegalStateException} when the client is closed first
     * @throws IllegalArgumentException when {@code user} is not a user id
     */
    public CompletableFuture<Presence> lastSeen(String user) {
        return engine.lastSeen(user);
    }

    /**
     * Watches these users' presence, and with {@code contacts} every user on this user's contact
     * list too (following changes to the list), for as long as the client runs: each change comes
     * to {@link CourierListener#onPresence}. Replaces the previous watch; no users and no contacts
     * ends it. The client subscribes on every (re)connect, so a reconnect announces every watched
     * user again. At most 1,024 users (the server's {@code router.max-presence-watch}, by default);
     * a server that refuses the watch logs why, and the listener hears nothing.
     *
     * @throws IllegalArgumentException when one of {@code users} is not a user id, or there are more than 1,024
     */
    public void watchPresence(Collection<String> users, boolean contacts) {
        engine.watchPresence(users, contacts);
    }

    /** This user's presence privacy and contact list as the server has them (asked when connected, like {@link #lastSeen}). */
    public CompletableFuture<PrivacySettings> privacy() {
        return engine.privacy(null, List.of(), List.of(), false);
    }

    /**
     * Chooses who may see this user's presence; for all its devices, stored by the server. Presence
     * is mutual: with {@link PresenceVisibility#NOBODY} this user sees no one else's either, and with
     * {@link PresenceVisibility#CONTACTS} only that of contacts who admit this user too.
     *
     * @return the settings as they now are, once the server stored them (sent when connected)
     */
    public CompletableFuture<PrivacySettings> setPresenceVisibility(PresenceVisibility visibility) {
        return engine.privacy(Objects.requireNonNull(visibility, "visibility"), List.of(), List.of(), false);
    }

    /**
     * Adds users to this user's contact list (adding one already there is fine).
     *
     * @throws IllegalArgumentException when one is not a user id
     */
    public CompletableFuture<PrivacySettings> addContacts(Collection<String> users) {
        return engine.privacy(null, users, List.of(), false);
    }

    /**
     * Removes users from this user's contact list (removing one not there is fine).
     *
     * @throws IllegalArgumentException when one is not a user id
     */
    public CompletableFuture<PrivacySettings> removeContacts(Collection<String> users) {
        return engine.privacy(null, List.of(), users, false);
    }

    /**
     * Makes this user's contact list exactly {@code users}.
     *
     * @throws IllegalArgumentException when one is not a user id
     */
    public CompletableFuture<PrivacySettings> setContacts(Collection<String> users) {
        return engine.privacy(null, users, List.of(), true);
    }

    /**
     * Gives {@code conversation} (the other user) a pre-shared 256-bit key, agreed outside Courier:
     * from now on its messages, sent and not yet sent, are encrypted with it (shared-key mode, one
     * ciphertext for every device), whatever {@link Builder#encryption} says, and messages
     * encrypted with it decrypt. A later call replaces the key for sending; earlier keys are kept
     * for decrypting. Stored in the database, so it outlives a restart.
     *
     * @throws IllegalArgumentException when the key is not 32 bytes or the conversation not a user id
     */
    public void setSharedKey(String conversation, byte[] key) {
        engine.setSharedKey(conversation, key);
    }

    /**
     * The safety number of this user and {@code user}: 60 digits in 12 groups over the identity
     * keys of both users' devices ({@code docs/E2E.md} section 9), the same on both sides when
     * each encrypts to the other's real keys. Fetches both users' key bundles from the server
     * (when connected), so it reflects the devices as they are now; a change from what this device
     * knew raises {@link CourierListener#onSafetyNumberChanged} first.
     *
     * @return the number; exceptionally {@link CourierRequestException} when the server refuses
     *     the fetch, or {@link IllegalStateException} when {@code user} has no device with keys
     *     or the client closes first
     * @throws IllegalStateException when this client has no identity (it never ran with
     *     {@link Builder#encryption} SIGNAL)
     */
    public CompletableFuture<String> safetyNumber(String user) {
        return engine.safetyNumber(user);
    }

    /**
     * Completes once this device's keys (identity, signed pre-key and one-time pre-keys) are
     * published on the server, on the first connection of a new database (at once when they were
     * published before). Others can encrypt to this device only from then on.
     *
     * @throws IllegalStateException when {@link Builder#encryption} is not SIGNAL
     */
    public CompletableFuture<Void> keysPublished() {
        return engine.keysPublished();
    }

    /** The connection's state and the outbox's size. */
    public ConnectionStatus status() {
        return engine.status();
    }

    /** Adds a listener; it hears of changes committed from now on. */
    public void addListener(CourierListener listener) {
        engine.addListener(listener);
    }

    /** Removes a listener. */
    public void removeListener(CourierListener listener) {
        engine.removeListener(listener);
    }

    /** The user this client acts for. */
    public String user() {
        return engine.settings().user();
    }

    /** The device this client is. */
    public String device() {
        return engine.settings().device();
    }

    /** The database file. */
    public Path database() {
        return engine.settings().database();
    }

    /** The folder sent and received files are kept in. */
    public Path mediaFolder() {
        return engine.settings().mediaFolder();
    }

    /**
     * Closes the connection and the database. What is in the outbox stays there for the next
     * client on the same file. Blocks until the database is closed. Idempotent.
     */
    @Override
    public void close() {
        engine.close();
    }

    /** Settings of a {@link CourierClient}; each has a documented default or is required. */
    public static final class Builder {

        private URI server;
        private String user;
        private String device = "1";
        private Supplier<String> token;
        private Path database;
        private Path mediaFolder;
        private Clock clock = Clock.systemUTC();
        private ScheduledExecutorService scheduler;
        private int maxInFlight = 256;
        private Duration unsentAfter = Duration.ofSeconds(30);
        private Duration initialBackoff = Duration.ofMillis(250);
        private Duration maxBackoff = Duration.ofSeconds(30);
        private String clientAgent = "courier-client-java/0.1";
        private int framesPerSecond = 450;
        private int frameBurst = 1800;
        private final List<CourierListener> listeners = new ArrayList<>();
        private Encryption encryption = Encryption.NONE;

        private Builder() {
        }

        /**
         * The server's address; its scheme picks the transport: {@code tcp://host:port},
         * {@code udp://host:port}, {@code ws://host:port/ws}, {@code http://host:port/lp} (long
         * polling). Required.
         */
        public Builder server(URI address) {
            this.server = Objects.requireNonNull(address, "address");
            return this;
        }

        /** The user this device belongs to. Required. */
        public Builder user(String user) {
            this.user = Objects.requireNonNull(user, "user");
            return this;
        }

        /** The device id; {@code "1"}, the primary device, by default. */
        public Builder device(String device) {
            this.device = Objects.requireNonNull(device, "device");
            return this;
        }

        /**
         * Where tokens come from: asked before every connection, so after {@code TOKEN_EXPIRED} the
         * next attempt uses a fresh one. Called on the client's thread; may block briefly. Required.
         */
        public Builder token(Supplier<String> token) {
            this.token = Objects.requireNonNull(token, "token");
            return this;
        }

        /** The SQLite database file; created with its folder when absent. Required. */
        public Builder database(Path file) {
            this.database = Objects.requireNonNull(file, "file");
            return this;
        }

        /**
         * The folder for files: copies of those sent ({@code sent/}) and downloads
         * ({@code received/USER/}). By default next to the database, named after it:
         * {@code alice.db} keeps its files in {@code alice-media/}.
         */
        public Builder mediaFolder(Path folder) {
            this.mediaFolder = Objects.requireNonNull(folder, "folder");
            return this;
        }

        /** The clock for local times and the not-sent-yet report; the system's UTC clock by default. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * The executor for timers (reconnects, heartbeats, retries, checks). By default the client
         * creates a single daemon thread and shuts it down on close; one given here is not shut down.
         */
        public Builder scheduler(ScheduledExecutorService scheduler) {
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
            return this;
        }

        /** How many sends may wait for the server's answer at once; 256 by default. */
        public Builder maxInFlight(int sends) {
            if (sends < 1) {
                throw new IllegalArgumentException("maxInFlight must be at least 1, was " + sends);
            }
            this.maxInFlight = sends;
            return this;
        }

        /** After how long a message still pending is reported as not sent yet; 30 s by default. */
        public Builder unsentAfter(Duration after) {
            if (after.isNegative() || after.isZero()) {
                throw new IllegalArgumentException("unsentAfter must be above zero, was " + after);
            }
            this.unsentAfter = after;
            return this;
        }

        /**
         * The reconnect back-off: the first wait is up to {@code initial}, doubling on each failed
         * attempt up to {@code max}, each wait drawn at random below its bound (full jitter), and
         * back to {@code initial} once connected. 250 ms and 30 s by default.
         */
        public Builder backoff(Duration initial, Duration max) {
            if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("backoff needs 0 < initial <= max, was " + initial + ", " + max);
            }
            this.initialBackoff = initial;
            this.maxBackoff = max;
            return this;
        }

        /**
         * The pace this client keeps: at most {@code burst} frames at once, then
         * {@code perSecond} a second (sends, acknowledgements and read receipts), so that a server's
         * per-connection rate limits never refuse a send — a refused send could be overtaken by the
         * ones already on their way, and the recipient would see them out of order. By default
         * 450 and 1,800, nine tenths of the server's defaults ({@code router.frames-per-second}
         * 500, {@code router.frame-burst} 2,000); match the server's if it is configured otherwise.
         */
        public Builder frameRate(int perSecond, int burst) {
            if (perSecond < 1 || burst < 1) {
                throw new IllegalArgumentException("frameRate needs perSecond and burst of at least 1, was "
                    + perSecond + ", " + burst);
            }
            this.framesPerSecond = perSecond;
            this.frameBurst = burst;
            return this;
        }

        /** Free text sent in hello for the server's logs. */
        public Builder clientAgent(String agent) {
            this.clientAgent = Objects.requireNonNull(agent, "agent");
            return this;
        }

        /**
         * End-to-end encryption: {@link Encryption#SIGNAL} (recommended) publishes this device's keys
         * on connect and encrypts every message for each receiving device (X3DH and the Double
         * Ratchet, {@code docs/E2E.md}); {@link Encryption#NONE}, the default, sends plain messages,
         * as browsers and other clients without encryption expect. In both, a conversation with a
         * {@link CourierClient#setSharedKey shared key} is encrypted with that key, and encrypted
         * messages that arrive are decrypted when the keys are here.
         */
        public Builder encryption(Encryption mode) {
            this.encryption = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /** Adds a listener, registered before the client starts so it misses nothing. */
        public Builder listener(CourierListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /**
         * Opens (creating or migrating) the database and starts connecting. Messages left in the
         * outbox by an earlier run are sent again.
         *
         * @throws IllegalArgumentException naming a missing or malformed setting, or an address
         *     whose scheme no transport serves
         * @throws CourierStoreException naming the file when the database is corrupted, locked by
         *     another process, read-only, or cannot be created
         */
        public CourierClient build() {
            Path media = mediaFolder;
            if (media == null && database != null) {
                String name = database.toAbsolutePath().getFileName().toString();
                media = database.toAbsolutePath().resolveSibling(
                    (name.endsWith(".db") ? name.substring(0, name.length() - 3) : name) + "-media");
            }
            EngineSettings settings = new EngineSettings(server, user, device, token, database,
                media == null ? null : media.toAbsolutePath(), clock, scheduler,
                maxInFlight, unsentAfter, initialBackoff, maxBackoff, clientAgent, framesPerSecond, frameBurst,
                List.copyOf(listeners), encryption);
            return new CourierClient(ClientEngine.start(settings));
        }
    }
}
