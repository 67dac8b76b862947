package io.courier.client.internal;

import com.google.protobuf.ByteString;
import io.courier.client.ConnectionState;
import io.courier.client.ConnectionStatus;
import io.courier.client.CourierListener;
import io.courier.client.CourierStoreException;
import io.courier.client.CourierMediaException;
import io.courier.client.Direction;
import io.courier.client.Encryption;
import io.courier.client.crypto.Entropy;
import io.courier.client.crypto.Envelope;
import io.courier.client.crypto.MediaCipher;
import io.courier.client.crypto.MediaKeyInfo;
import io.courier.client.crypto.Reason;
import io.courier.client.CourierRequestException;
import io.courier.client.Message;
import io.courier.client.MessageState;
import io.courier.client.Presence;
import io.courier.client.PresenceVisibility;
import io.courier.client.PrivacySettings;
import io.courier.client.Media;
import io.courier.client.TransferProgress;
import io.courier.transport.ClientConnection;
import io.courier.transport.ClientListener;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Accepted;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.DeliveryAck;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Heartbeat;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.KeyBundleFetch;
import io.courier.transport.proto.KeyBundles;
import io.courier.transport.proto.PresenceQuery;
import io.courier.transport.proto.PresenceSubscribe;
import io.courier.transport.proto.PrivacyUpdate;
import io.courier.transport.proto.Visibility;
import io.courier.transport.proto.MediaRef;
import io.courier.transport.proto.MediaSlot;
import io.courier.transport.proto.MediaSlotRequest;
import io.courier.transport.proto.ReadReceipt;
import io.courier.transport.proto.Receipt;
import io.courier.transport.proto.Send;
import io.courier.transport.proto.Welcome;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client's one thread and everything it owns: the database, the connection, the outbox's
 * progress. Other threads reach it only through its queue of commands. The thread takes as many
 * queued commands as are waiting (up to {@link #BATCH}) and runs them in one SQLite transaction;
 * only after the commit does it acknowledge to the server, answer callers and tell listeners.
 */
public final class ClientEngine {

    private static final Logger LOG = LoggerFactory.getLogger(ClientEngine.class);

    /** Commands run in one transaction at most; bounds the time to the first acknowledgement. */
    static final int BATCH = 1024;
    /** Ids per DeliveryAck and ReadReceipt frame: the server's router.max-ids-per-ack. */
    static final int MAX_IDS_PER_FRAME = 1024;
    /** A Send frame must stay this far below the announced max_frame_bytes (its Deliver is larger). */
    static final int DELIVER_OVERHEAD = 160;
    /** Connections on which an unconfirmed acknowledgement is sent again before it is given up. */
    static final int MAX_ACK_ATTEMPTS = 10;
    /** Time for the server's welcome after the connection opened. */
    static final long WELCOME_TIMEOUT_MS = 15_000;

    /** One unit of work on the client's thread, inside the batch's transaction. */
    private interface Command {
        void run() throws SQLException;

        default void failed(RuntimeException e) {
        }
    }

    /** An acknowledgement or read receipt frame not yet known to be recorded by the server. */
    private record IdFrame(int kind, long[] ids, long seq, long requestId) {
    }

    /** Users one PresenceSubscribe may watch: the server's router.max-presence-watch by default. */
    static final int MAX_WATCHED = 1024;

    /**
     * A question the server answers with one frame carrying its request id (a presence query, a
     * privacy update). Kept until answered: one whose connection ends first is asked again on the next.
     */
    private abstract static class Request {
        long requestId;

        /** The frame to send now, without its request id. */
        abstract Frame.Builder frame();

        /** Takes the answer; false when another frame of this request must follow. */
        abstract boolean answered(Frame answer);

        abstract void fail(RuntimeException e);
    }

    private static final class PresenceRequest extends Request {
        final String user;
        final CompletableFuture<Presence> result;

        PresenceRequest(String user, CompletableFuture<Presence> result) {
            this.user = user;
            this.result = result;
        }

        @Override
        Frame.Builder frame() {
            return Frame.newBuilder().setPresenceQuery(PresenceQuery.newBuilder().setUser(user));
        }

        @Override
        boolean answered(Frame answer) {
            io.courier.transport.proto.Presence p = answer.getPresence();
            result.complete(Presence.of(p.getUser().isEmpty() ? user : p.getUser(), p.getOnline(), p.getLastSeenMs()));
            return true;
        }

        @Override
        void fail(RuntimeException e) {
            result.completeExceptionally(e);
        }
    }

    /** A privacy change in frames of at most MAX_IDS_PER_FRAME ids, sent one after another. */
    private static final class PrivacyRequest extends Request {
        final List<PrivacyUpdate> parts;
        final CompletableFuture<PrivacySettings> result;
        int next;

        PrivacyRequest(List<PrivacyUpdate> parts, CompletableFuture<PrivacySettings> result) {
            this.parts = parts;
            this.result = result;
        }

        @Override
        Frame.Builder frame() {
            return Frame.newBuilder().setPrivacyUpdate(parts.get(next));
        }

        @Override
        boolean answered(Frame answer) {
            next++;
            if (next < parts.size()) {
                return false;
            }
            io.courier.transport.proto.PrivacySettings settings = answer.getPrivacySettings();
            PresenceVisibility visibility = switch (settings.getVisibility()) {
                case VISIBILITY_CONTACTS -> PresenceVisibility.CONTACTS;
                case VISIBILITY_NOBODY -> PresenceVisibility.NOBODY;
                // The server never sends UNSPECIFIED; it stands for the default.
                default -> PresenceVisibility.EVERYONE;
            };
            result.complete(new PrivacySettings(visibility, settings.getContactsList()));
            return true;
        }

        @Override
        void fail(RuntimeException e) {
            result.completeExceptionally(e);
        }
    }

    private final EngineSettings settings;
    private final Store store;
    private final LinkedBlockingQueue<Command> queue = new LinkedBlockingQueue<>();
    private final ScheduledExecutorService scheduler;
    private final boolean ownScheduler;
    private final CopyOnWriteArrayList<CourierListener> listeners;
    private final Thread thread;
    private volatile ConnectionStatus status;
    private volatile boolean closed;
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();
    private final Command shutdownCommand = this::shutdown;

    // ---- confined to the client's thread
    private boolean exit;
    private List<Runnable> afterCommit = new ArrayList<>();
    private List<Long> toAck = new ArrayList<>();
    private long resumePoint;
    private boolean resumeChanged;
    private volatile int queued;
    private final TransportClient transport;
    private ClientConnection connection;
    private int generation;
    private boolean welcomed;
    private long heartbeatNanos;
    private int maxFrameBytes;
    private long lastSentNanos;
    private String tokenInUse;
    private String refusedToken;
    private boolean stop;
    private String lastProblem;
    private int attempts;
    private long minNextDelayMs;
    private ScheduledFuture<?> heartbeatTimer;
    private final Map<String, Message> inFlight = new LinkedHashMap<>();
    private final Map<String, Long> inFlightSeq = new HashMap<>();
    private long cursor;
    private int window;
    private long frameSeq;
    private long requestIds = 1;
    private final TreeMap<Long, IdFrame> unconfirmedFrames = new TreeMap<>();
    private final Map<Long, IdFrame> framesByRequest = new HashMap<>();
    private boolean holding;
    private long holdUntilNanos;
    private int sendRetries;
    private final List<List<Long>> heldIds = List.of(new ArrayList<>(), new ArrayList<>());
    private List<Request> waitingRequests = new ArrayList<>();
    private final Map<Long, Request> sentRequests = new HashMap<>();
    private final List<Request> delayedRequests = new ArrayList<>();
    private List<String> watchUsers = List.of();
    private boolean watchContacts;
    private long watchRequestId;
    private boolean watchRefused;
    private long unsentCursor;
    // The client's own token bucket, kept below the server's per-connection rate limits.
    private double paceRate;
    private double paceBurst;
    private double tokens;
    private long tokensAtNanos;
    private boolean paceScheduled;
    // Media uploads: slot requests waiting for their answer (request id to local id), uploads
    // under way, their callers' progress callbacks, and failed attempts per message.
    private final Map<Long, Long> slotRequests = new HashMap<>();
    private final java.util.Set<Long> uploading = new java.util.HashSet<>();
    private final Map<Long, TransferProgress> uploadProgress = new HashMap<>();
    private final Map<Long, Integer> uploadFailures = new HashMap<>();
    private boolean uploadsToStart = true;
    private final MediaTransfers transfers;
    private final Map<Long, CompletableFuture<Path>> downloads = new java.util.concurrent.ConcurrentHashMap<>();
    // End-to-end encryption: the publish under way, the key bundle fetches under way (a user is
    // fetched once at a time), safety numbers asked for, and callers waiting for the publish.
    private final EndToEnd e2e;
    private final Entropy entropy = Entropy.secure();
    private final Map<Long, EndToEnd.Publish> publishes = new HashMap<>();
    private final Map<Long, FetchRequest> fetches = new HashMap<>();
    private final Map<String, FetchRequest> fetchesByUser = new HashMap<>();
    private final List<SafetyAsk> safetyAsks = new ArrayList<>();
    private final List<CompletableFuture<Void>> publishWaiters = new ArrayList<>();
    private boolean keysPublished;
    private boolean replenishing;
    private final Map<String, Error> fetchRefusals = new HashMap<>();
    private final List<Runnable> pumpAfter = new ArrayList<>();

    /** A KeyBundleFetch under way: for the outbox, and for the safety numbers waiting for it. */
    private static final class FetchRequest {
        final String user;
        final java.util.Set<String> devices;
        final List<SafetyAsk> asks = new ArrayList<>();

        FetchRequest(String user, java.util.Set<String> devices) {
            this.user = user;
            this.devices = devices;
        }
    }

    /** A safety number asked for: computed once both users' devices are fetched. */
    private static final class SafetyAsk {
        final String user;
        final CompletableFuture<String> result;
        int outstanding;

        SafetyAsk(String user, CompletableFuture<String> result) {
            this.user = user;
            this.result = result;
        }
    }

    private ClientEngine(EngineSettings settings, Store store) throws SQLException {
        this.settings = settings;
        this.store = store;
        this.listeners = new CopyOnWriteArrayList<>(settings.listeners());
        this.ownScheduler = settings.scheduler() == null;
        this.scheduler = ownScheduler ? Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "courier-client-timers-" + settings.user() + "/" + settings.device());
            t.setDaemon(true);
            return t;
        }) : settings.scheduler();
        this.resumePoint = store.resumePoint();
        this.queued = store.pendingCount();
        this.e2e = new EndToEnd(store, settings, entropy);
        e2e.open(settings.clock().millis());
        this.keysPublished = e2e.publishedAll(settings.clock().millis());
        store.commit();
        this.window = settings.maxInFlight();
        this.status = new ConnectionStatus(ConnectionState.CONNECTING, queued, null);
        this.thread = new Thread(this::loop, "courier-client-" + settings.user() + "/" + settings.device());
        this.thread.setDaemon(true);
        this.transport = TransportProviders.find(Transports.nameFor(settings.server()))
            .createClient(TransportSettings.of(0));
        this.transfers = new MediaTransfers(settings.user() + "/" + settings.device());
    }

    /**
     * Opens the database and starts the client's thread, which connects at once.
     *
     * @throws CourierStoreException naming the database file when it cannot be used
     */
    public static ClientEngine start(EngineSettings settings) {
        Store store = Store.open(settings.database());
        ClientEngine engine;
        try {
            engine = new ClientEngine(settings, store);
        } catch (SQLException e) {
            store.close();
            throw Store.failure(store.file(), e, "read");
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
        engine.thread.start();
        engine.post(engine::connect);
        long period = Math.max(50, Math.min(1000, settings.unsentAfter().toMillis() / 4));
        engine.scheduler.scheduleWithFixedDelay(() -> engine.post(engine::reportUnsent), period, period,
            TimeUnit.MILLISECONDS);
        return engine;
    }

    public EngineSettings settings() {
        return settings;
    }

    // ---------------------------------------------------------------- the public operations

    public String send(String recipient, String contentType, byte[] payload) {
        return await(sendAsync(recipient, contentType, payload));
    }

    public CompletableFuture<String> sendAsync(String recipient, String contentType, byte[] payload) {
        if (!Ids.isValidId(recipient)) {
            throw new IllegalArgumentException("Recipient " + Ids.quote(recipient) + " is not a user id: " + Ids.SYNTAX);
        }
        java.util.Objects.requireNonNull(contentType, "contentType");
        byte[] copy = payload.clone();
        return submit(done -> {
            String clientId = UUID.randomUUID().toString();
            store.insertOutgoing(clientId, recipient, settings.user(), settings.device(), contentType, copy,
                settings.clock().millis());
            queued++;
            afterCommit.add(() -> done.accept(clientId));
        });
    }

    /**
     * Copies {@code file} into the media folder (hashing it on the way), then stores the message in
     * the outbox; it goes out once the copy is uploaded.
     */
    public String sendMedia(String recipient, Path file, String contentType, TransferProgress progress) {
        if (!Ids.isValidId(recipient)) {
            throw new IllegalArgumentException("Recipient " + Ids.quote(recipient) + " is not a user id: " + Ids.SYNTAX);
        }
        java.util.Objects.requireNonNull(contentType, "contentType");
        java.util.Objects.requireNonNull(progress, "progress");
        if (contentType.isBlank()) {
            throw new IllegalArgumentException("The content type of " + file + " is empty: give its MIME type, "
                + "e.g. image/png");
        }
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new IllegalArgumentException("Cannot send " + file + ": it is not a readable file");
        }
        String clientId = UUID.randomUUID().toString();
        Path copy = settings.mediaFolder().resolve("sent").resolve(clientId + extension(contentType));
        Path blob = settings.mediaFolder().resolve("sent").resolve(clientId + ".blob");
        boolean encrypted = query(() -> e2e.modeFor(recipient)) != Encryption.NONE;
        Media media;
        Store.MediaSecret secret = null;
        try {
            long size = Files.size(file);
            if (size == 0) {
                throw new IllegalArgumentException("Cannot send " + file + ": it is empty");
            }
            byte[] sha = MediaTransfers.copyAndHash(file, copy);
            media = new Media("", contentType, Files.size(copy), sha, copy);
            if (encrypted) {
                // The blob store gets this encrypted copy only; its key goes in the encrypted message.
                MediaKeyInfo info = MediaCipher.encrypt(copy, blob, file.getFileName().toString(), contentType,
                    entropy);
                secret = new Store.MediaSecret(info.mediaKey(), info.fileName(), Files.size(blob), info.blobSha256(),
                    blob);
            }
        } catch (IOException e) {
            deleteQuietly(copy);
            deleteQuietly(blob);
            throw new CourierMediaException("Cannot copy " + file + " into the media folder " + settings.mediaFolder()
                + ": " + e.getMessage() + "; check that the file is readable and the folder writable", e);
        }
        Store.MediaSecret blobSecret = secret;
        try {
            return await(submit(done -> {
                long localId = store.insertOutgoingMedia(clientId, recipient, settings.user(), settings.device(),
                    contentType, new byte[0], settings.clock().millis(), media);
                if (blobSecret != null) {
                    store.setMediaSecret(localId, blobSecret);
                }
                queued++;
                uploadProgress.put(localId, progress);
                uploadsToStart = true;
                afterCommit.add(() -> done.accept(clientId));
            }));
        } catch (RuntimeException e) {
            deleteQuietly(copy);
            deleteQuietly(blob);
            throw e;
        }
    }

    /**
     * The message's file on this device: at once if it is here, else downloaded (resuming an
     * interrupted download), verified against the message's SHA-256, and recorded.
     */
    public CompletableFuture<Path> download(Message message, TransferProgress progress) {
        Media media = message.media();
        if (media == null) {
            throw new IllegalArgumentException("Message " + message.clientId() + " carries no file");
        }
        if (media.file() != null && Files.isRegularFile(media.file())) {
            return CompletableFuture.completedFuture(media.file());
        }
        if (media.url().isEmpty()) {
            return CompletableFuture.failedFuture(new CourierMediaException("The file of message "
                + message.clientId() + " is not uploaded yet"));
        }
        if (closed) {
            throw new IllegalStateException("The client of " + settings.database() + " is closed");
        }
        String name = (message.serverId() != 0 ? Long.toString(message.serverId()) : message.clientId())
            + extension(media.contentType());
        Path target = settings.mediaFolder().resolve("received").resolve(message.conversation()).resolve(name);
        Store.MediaSecret secret = message.direction() == Direction.INCOMING || message.encryption() != Encryption.NONE
            ? query(() -> store.mediaSecret(message.localId())) : null;
        return downloads.computeIfAbsent(message.localId(), id -> {
            CompletableFuture<Path> done = new CompletableFuture<>();
            CompletableFuture<Path> fetched;
            if (secret == null) {
                fetched = transfers.download(media, target, progress);
            } else {
                // The blob is checked against the SHA-256 the encrypted message named, then its MAC
                // and decrypted into the file's place; the blob itself is not kept.
                Path blobFile = target.resolveSibling(target.getFileName() + ".blob");
                Media blobRef = new Media(media.url(), "application/octet-stream", secret.blobSize(),
                    secret.blobSha256(), null);
                MediaKeyInfo info = new MediaKeyInfo(secret.mediaKey(), secret.blobSha256(), media.sizeBytes(),
                    secret.fileName() == null ? "" : secret.fileName(), media.contentType());
                fetched = transfers.download(blobRef, blobFile, progress).thenApply(downloaded -> {
                    try {
                        MediaCipher.decrypt(downloaded, target, info);
                        return target;
                    } catch (io.courier.client.crypto.E2eException e) {
                        throw new CourierMediaException("The file of message " + message.clientId()
                            + " does not decrypt (" + e.reason() + ": " + e.getMessage() + ")", e);
                    } finally {
                        deleteQuietly(downloaded);
                    }
                });
            }
            fetched.whenComplete((path, error) -> {
                downloads.remove(id);
                if (error != null) {
                    done.completeExceptionally(error instanceof java.util.concurrent.CompletionException c
                        && c.getCause() != null ? c.getCause() : error);
                    return;
                }
                try {
                    this.<Path>submit(recorded -> {
                        store.setMediaFile(id, path);
                        afterCommit.add(() -> recorded.accept(path));
                    }).whenComplete((p, e) -> {
                        if (e != null) {
                            done.completeExceptionally(e);
                        } else {
                            done.complete(p);
                        }
                    });
                } catch (IllegalStateException closedNow) {
                    done.complete(path);
                }
            });
            return done;
        });
    }

    /** A file name extension for a MIME type, so the files in the media folder open with the right program. */
    static String extension(String contentType) {
        String type = contentType.toLowerCase(java.util.Locale.ROOT);
        int semicolon = type.indexOf(';');
        if (semicolon >= 0) {
            type = type.substring(0, semicolon).strip();
        }
        return switch (type) {
            case "image/jpeg" -> ".jpg";
            case "image/png" -> ".png";
            case "image/gif" -> ".gif";
            case "image/webp" -> ".webp";
            case "video/mp4" -> ".mp4";
            case "audio/mpeg" -> ".mp3";
            case "audio/ogg" -> ".ogg";
            case "application/pdf" -> ".pdf";
            case "text/plain" -> ".txt";
            default -> {
                int slash = type.indexOf('/');
                String sub = slash < 0 ? "" : type.substring(slash + 1);
                yield sub.matches("[a-z0-9]{1,8}") ? "." + sub : ".bin";
            }
        };
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.warn("Cannot delete {}: {}", file, e.toString());
        }
    }

    public void setSharedKey(String conversation, byte[] key) {
        if (!Ids.isValidId(conversation)) {
            throw new IllegalArgumentException("Conversation " + Ids.quote(conversation) + " is not a user id: "
                + Ids.SYNTAX);
        }
        if (key == null || key.length != 32) {
            throw new IllegalArgumentException("A shared key has 32 bytes (256 bits), not "
                + (key == null ? "none" : key.length));
        }
        byte[] copy = key.clone();
        call(done -> {
            e2e.setSharedKey(conversation, copy, settings.clock().millis());
            afterCommit.add(() -> done.accept(null));
        });
    }

    public CompletableFuture<String> safetyNumber(String user) {
        if (!Ids.isValidId(user)) {
            throw new IllegalArgumentException("User " + Ids.quote(user) + " is not a user id: " + Ids.SYNTAX);
        }
        if (!e2e.hasIdentity()) {
            throw new IllegalStateException("This client has no identity key to compute a safety number with: "
                + "build it with encryption(Encryption.SIGNAL)");
        }
        CompletableFuture<String> result = new CompletableFuture<>();
        SafetyAsk ask = new SafetyAsk(user, result);
        submit(done -> {
            if (welcomed) {
                askSafety(ask);
            } else {
                safetyAsks.add(ask);
            }
            afterCommit.add(() -> done.accept(null));
        }).exceptionally(e -> {
            result.completeExceptionally(e);
            return null;
        });
        return result;
    }

    public CompletableFuture<Void> keysPublished() {
        if (settings.encryption() != Encryption.SIGNAL) {
            throw new IllegalStateException("This client publishes no keys: build it with "
                + "encryption(Encryption.SIGNAL)");
        }
        CompletableFuture<Void> result = new CompletableFuture<>();
        submit(done -> {
            if (keysPublished) {
                result.complete(null);
            } else {
                publishWaiters.add(result);
            }
            afterCommit.add(() -> done.accept(null));
        }).exceptionally(e -> {
            result.completeExceptionally(e);
            return null;
        });
        return result;
    }

    public int markRead(String conversation, long upToLocalId) {
        return call(done -> {
            List<Long> ids = store.markRead(conversation, upToLocalId);
            afterCommit.add(() -> {
                if (!ids.isEmpty()) {
                    sendIds(Store.KIND_READ, ids);
                }
                done.accept(ids.size());
            });
        });
    }

    public List<Message> history(String conversation, int limit) {
        return query(() -> store.history(conversation, limit));
    }

    public Optional<Message> message(String clientId) {
        return Optional.ofNullable(query(() -> {
            Message own = store.ownByClientId(clientId, settings.user(), settings.device());
            return own != null ? own : store.anyByClientId(clientId);
        }));
    }

    public int unreadCount(String conversation) {
        return query(() -> store.unreadCount(conversation));
    }

    public Map<String, Integer> unreadCounts() {
        return query(store::unreadCounts);
    }

    public List<String> conversations() {
        return query(store::conversations);
    }

    public CompletableFuture<Presence> lastSeen(String user) {
        if (!Ids.isValidId(user)) {
            throw new IllegalArgumentException("User " + Ids.quote(user) + " is not a user id: " + Ids.SYNTAX);
        }
        CompletableFuture<Presence> result = new CompletableFuture<>();
        enqueue(new PresenceRequest(user, result));
        return result;
    }

    public CompletableFuture<PrivacySettings> privacy(PresenceVisibility visibility, Collection<String> add,
                                                      Collection<String> remove, boolean replace) {
        List<String> adding = checkedUsers(add, "Contact");
        List<String> removing = checkedUsers(remove, "Contact");
        Visibility wire = visibility == null ? Visibility.VISIBILITY_UNSPECIFIED : switch (visibility) {
            case EVERYONE -> Visibility.VISIBILITY_EVERYONE;
            case CONTACTS -> Visibility.VISIBILITY_CONTACTS;
            case NOBODY -> Visibility.VISIBILITY_NOBODY;
        };
        // The server takes at most max-ids-per-ack ids a frame: a longer change goes in several,
        // in order, each applied before the next is sent (adds before removes, as in one frame).
        List<PrivacyUpdate> parts = new ArrayList<>();
        PrivacyUpdate.Builder part = PrivacyUpdate.newBuilder().setVisibility(wire).setReplaceContacts(replace);
        int inPart = 0;
        for (int i = 0; i < adding.size() + removing.size(); i++) {
            if (inPart == MAX_IDS_PER_FRAME) {
                parts.add(part.build());
                part = PrivacyUpdate.newBuilder();
                inPart = 0;
            }
            if (i < adding.size()) {
                part.addAddContacts(adding.get(i));
            } else {
                part.addRemoveContacts(removing.get(i - adding.size()));
            }
            inPart++;
        }
        parts.add(part.build());
        CompletableFuture<PrivacySettings> result = new CompletableFuture<>();
        enqueue(new PrivacyRequest(List.copyOf(parts), result));
        return result;
    }

    public void watchPresence(Collection<String> users, boolean contacts) {
        List<String> watched = checkedUsers(users, "User");
        if (watched.size() > MAX_WATCHED) {
            throw new IllegalArgumentException("A watch takes at most " + MAX_WATCHED + " users (the server's "
                + "router.max-presence-watch), not " + watched.size());
        }
        if (closed) {
            throw new IllegalStateException("The client of " + settings.database() + " is closed");
        }
        post(() -> {
            boolean wasWatching = !watchUsers.isEmpty() || watchContacts;
            watchUsers = watched;
            watchContacts = contacts;
            watchRefused = false;
            // Ending a watch that never began would only send a frame an older server refuses.
            if (welcomed && (wasWatching || !watched.isEmpty() || contacts)) {
                subscribe();
            }
        });
    }

    private static List<String> checkedUsers(Collection<String> users, String what) {
        List<String> checked = new ArrayList<>(new LinkedHashSet<>(users));
        for (String user : checked) {
            if (!Ids.isValidId(user)) {
                throw new IllegalArgumentException(what + " " + Ids.quote(user) + " is not a user id: " + Ids.SYNTAX);
            }
        }
        return checked;
    }

    public ConnectionStatus status() {
        ConnectionStatus now = status;
        return new ConnectionStatus(now.state(), queued, now.lastProblem());
    }

    public void addListener(CourierListener listener) {
        listeners.add(listener);
    }

    public void removeListener(CourierListener listener) {
        listeners.remove(listener);
    }

    public void close() {
        if (closed) {
            stopped.join();
            return;
        }
        closed = true;
        if (Thread.currentThread() == thread) {
            shutdown();
            return;
        }
        queue.add(shutdownCommand);
        try {
            stopped.get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("The client of " + settings.database() + " did not close within 30 s", e);
        }
    }

    // ---------------------------------------------------------------- the thread

    private interface Body<T> {
        void run(Consumer<T> done) throws SQLException;
    }

    private interface Query<T> {
        T get() throws SQLException;
    }

    private <T> T query(Query<T> query) {
        return call(done -> {
            T value = query.get();
            afterCommit.add(() -> done.accept(value));
        });
    }

    /** Runs {@code body} on the client's thread in a transaction; its result once committed. */
    private <T> T call(Body<T> body) {
        return await(submit(body));
    }

    /** Queues {@code body} for the client's thread (runs it now on that thread); completes once committed. */
    private <T> CompletableFuture<T> submit(Body<T> body) {
        if (closed) {
            throw new IllegalStateException("The client of " + settings.database() + " is closed");
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        Command command = new Command() {
            @Override
            public void run() throws SQLException {
                body.run(result::complete);
            }

            @Override
            public void failed(RuntimeException e) {
                result.completeExceptionally(e);
            }
        };
        if (Thread.currentThread() == thread) {
            runBatch(List.of(command));
        } else {
            queue.add(command);
            if (stopped.isDone()) {
                command.failed(new IllegalStateException("The client of " + settings.database() + " is closed"));
            }
        }
        return result;
    }

    private static <T> T await(CompletableFuture<T> result) {
        try {
            return result.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for the client's database", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    private void post(Command command) {
        if (!closed) {
            queue.add(command);
        }
    }

    private void loop() {
        List<Command> batch = new ArrayList<>();
        try {
            while (!exit) {
                batch.clear();
                batch.add(queue.take());
                queue.drainTo(batch, BATCH - 1);
                int end = batch.indexOf(shutdownCommand);
                if (end < 0) {
                    try {
                        runBatch(batch);
                    } catch (RuntimeException e) {
                        // After the commit (sending, answering): the client must outlive a bug
                        // here, so it starts the connection afresh, which resends what is unanswered.
                        LOG.error("{}/{}: unexpected failure after a local commit; reconnecting", settings.user(),
                            settings.device(), e);
                        dropConnection("unexpected failure: " + e);
                    }
                } else {
                    // What came before close() is committed and answered; what came after is refused.
                    if (end > 0) {
                        runBatch(new ArrayList<>(batch.subList(0, end)));
                    }
                    shutdown();
                    IllegalStateException closedNow = new IllegalStateException("The client of "
                        + settings.database() + " is closed");
                    batch.subList(end + 1, batch.size()).forEach(c -> c.failed(closedNow));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            for (Command left; (left = queue.poll()) != null; ) {
                left.failed(new IllegalStateException("The client of " + settings.database() + " is closed"));
            }
            stopped.complete(null);
        }
    }

    private void runBatch(List<Command> batch) {
        List<Runnable> after = new ArrayList<>();
        List<Long> acks = new ArrayList<>();
        List<Runnable> outerAfter = afterCommit;
        List<Long> outerAcks = toAck;
        afterCommit = after;
        toAck = acks;
        try {
            for (Command command : batch) {
                command.run();
            }
            if (resumeChanged) {
                store.setResumePoint(resumePoint);
                resumeChanged = false;
            }
            store.commit();
        } catch (SQLException | RuntimeException e) {
            CourierStoreException failure = e instanceof SQLException sql ? Store.failure(store.file(), sql, "write")
                : e instanceof CourierStoreException c ? c : null;
            RuntimeException reported = failure != null ? failure : (RuntimeException) e;
            LOG.error("{}; nothing of this batch was kept, the connection is closed so the server sends it again",
                reported.getMessage(), e);
            try {
                store.rollback();
                // What this thread keeps in memory must match what was kept: above all the resume
                // point, or the next hello would skip entries that were never stored.
                resumePoint = store.resumePoint();
                resumeChanged = false;
                queued = store.pendingCount();
                store.commit();
            } catch (CourierStoreException | SQLException rollbackFailed) {
                reported.addSuppressed(rollbackFailed);
            }
            for (Command command : batch) {
                command.failed(reported);
            }
            dropConnection("local database failure: " + reported.getMessage());
            return;
        } finally {
            afterCommit = outerAfter;
            toAck = outerAcks;
        }
        // Committed: only now may the server hear that these entries are stored.
        if (!acks.isEmpty() && welcomed) {
            sendIds(Store.KIND_ACK, acks);
        }
        for (Runnable r : after) {
            r.run();
        }
        pump();
    }

    private void shutdown() {
        exit = true;
        stop = true;
        if (heartbeatTimer != null) {
            heartbeatTimer.cancel(false);
        }
        if (connection != null) {
            connection.close();
            connection = null;
        }
        generation++;
        if (transport != null) {
            transport.close();
        }
        if (ownScheduler) {
            scheduler.shutdownNow();
        }
        status = new ConnectionStatus(ConnectionState.STOPPED, queued, "closed");
        IllegalStateException closedNow = new IllegalStateException("The client of " + settings.database()
            + " was closed before the server answered");
        List<Request> unanswered = new ArrayList<>(waitingRequests);
        unanswered.addAll(sentRequests.values());
        unanswered.addAll(delayedRequests);
        waitingRequests.clear();
        sentRequests.clear();
        delayedRequests.clear();
        unanswered.forEach(r -> r.fail(closedNow));
        transfers.close();
        store.close();
        stopped.complete(null);
    }

    // ---------------------------------------------------------------- connecting

    private void connect() {
        if (connection != null || stop || closed) {
            return;
        }
        String token;
        try {
            token = settings.token().get();
        } catch (RuntimeException e) {
            // Once with the stack, then in a line per attempt: an unreachable token service is
            // an ordinary condition, retried with back-off.
            if (lastProblem == null || !lastProblem.startsWith("the token supplier failed")) {
                LOG.warn("The token supplier of {}/{} failed; trying again with back-off", settings.user(),
                    settings.device(), e);
            } else {
                LOG.debug("The token supplier of {}/{} failed again: {}", settings.user(), settings.device(), e.toString());
            }
            lastProblem = "the token supplier failed: " + e.getMessage();
            retryLater();
            return;
        }
        if (token == null || token.equals(refusedToken)) {
            // Saying hello with credentials the server refused would be refused again: wait for new ones.
            retryLater();
            return;
        }
        tokenInUse = token;
        setState(ConnectionState.CONNECTING);
        int gen = ++generation;
        CompletableFuture<ClientConnection> opening;
        try {
            opening = transport.connect(settings.server(), listenerFor(gen));
        } catch (RuntimeException e) {
            lastProblem = "cannot connect to " + settings.server() + ": " + e.getMessage();
            retryLater();
            return;
        }
        opening.whenComplete((c, error) -> {
            if (closed) {
                if (c != null) {
                    c.close();
                }
                return;
            }
            post(() -> opened(gen, c, error));
        });
    }

    private ClientListener listenerFor(int gen) {
        return new ClientListener() {
            @Override
            public void onFrame(Frame frame) {
                post(() -> frame(gen, frame));
            }

            @Override
            public void onClose() {
                post(() -> closedConnection(gen));
            }
        };
    }

    private void opened(int gen, ClientConnection c, Throwable error) {
        if (gen != generation || stop) {
            if (c != null) {
                c.close();
            }
            return;
        }
        if (error != null) {
            Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                ? error.getCause() : error;
            lastProblem = "cannot connect to " + settings.server() + ": " + cause.getMessage();
            LOG.debug("{}/{}: {}", settings.user(), settings.device(), lastProblem);
            retryLater();
            return;
        }
        if (!c.isOpen()) {
            // Closed before we held it (a proxy or a stopping server): its close may have been
            // announced to no one, so do not wait for it.
            lastProblem = "the connection to " + settings.server() + " closed as it opened";
            // Its close may still be announced: that must not schedule a second attempt, or two
            // connections would open at once and the server would replace (and stop) one of them.
            generation++;
            retryLater();
            return;
        }
        connection = c;
        welcomed = false;
        write(Frame.newBuilder().setRequestId(requestIds++).setHello(Hello.newBuilder().setUser(settings.user())
            .setDevice(settings.device()).setToken(tokenInUse).setResumeAfterServerId(resumePoint)
            .setClientAgent(settings.clientAgent())).build());
        scheduler.schedule(() -> post(() -> {
            if (gen == generation && connection != null && !welcomed) {
                dropConnection("no welcome from " + settings.server() + " within " + WELCOME_TIMEOUT_MS + " ms");
            }
        }), WELCOME_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    }

    private void closedConnection(int gen) {
        if (gen != generation) {
            return;
        }
        forgetConnection();
        if (!stop) {
            retryLater();
        }
    }

    /**
     * Ends the connection at once: frames of it still queued are ignored from here on (they are
     * sent again on the next connection, since nothing of them was acknowledged).
     */
    private void dropConnection(String why) {
        lastProblem = why;
        ClientConnection c = connection;
        if (c != null) {
            forgetConnection();
            c.close();
            retryLater();
        }
    }

    private void forgetConnection() {
        connection = null;
        welcomed = false;
        generation++;
        inFlight.clear();
        inFlightSeq.clear();
        unconfirmedFrames.clear();
        framesByRequest.clear();
        heldIds.forEach(List::clear);
        holding = false;
        // Unanswered questions are asked again on the next connection, the oldest first.
        List<Request> again = new ArrayList<>(sentRequests.values());
        again.sort(Comparator.comparingLong(r -> r.requestId));
        again.addAll(delayedRequests);
        again.addAll(waitingRequests);
        waitingRequests = again;
        sentRequests.clear();
        delayedRequests.clear();
        watchRequestId = 0;
        // Slot answers of that connection will not come: ask again on the next one.
        uploading.removeAll(slotRequests.values());
        slotRequests.clear();
        uploadsToStart = true;
        // Publishes and fetches of that connection will not be answered: the next one does them again.
        publishes.clear();
        for (FetchRequest f : fetches.values()) {
            safetyAsks.addAll(f.asks.stream().filter(a -> !safetyAsks.contains(a)).toList());
            f.asks.forEach(a -> a.outstanding = 0);
        }
        fetches.clear();
        fetchesByUser.clear();
        replenishing = false;
        if (heartbeatTimer != null) {
            heartbeatTimer.cancel(false);
            heartbeatTimer = null;
        }
    }

    /** Schedules the next attempt: exponential back-off with full jitter, capped. */
    private void retryLater() {
        if (stop || closed) {
            setState(ConnectionState.STOPPED);
            return;
        }
        setState(ConnectionState.OFFLINE);
        long initial = settings.initialBackoff().toMillis();
        long cap = settings.maxBackoff().toMillis();
        long bound = attempts >= 30 ? cap : Math.min(cap, initial << attempts);
        attempts++;
        long delay = Math.max(minNextDelayMs, ThreadLocalRandom.current().nextLong(bound + 1));
        minNextDelayMs = 0;
        scheduler.schedule(() -> post(this::connect), delay, TimeUnit.MILLISECONDS);
    }

    private void setState(ConnectionState state) {
        ConnectionStatus next = new ConnectionStatus(state, queued, lastProblem);
        ConnectionState previous = status.state();
        status = next;
        if (previous != state) {
            for (CourierListener l : listeners) {
                try {
                    l.onConnectionChanged(next);
                } catch (RuntimeException e) {
                    LOG.warn("A listener of {}/{} threw on onConnectionChanged", settings.user(), settings.device(), e);
                }
            }
        }
    }

    private void write(Frame frame) {
        ClientConnection c = connection;
        if (c != null) {
            c.send(frame);
            lastSentNanos = System.nanoTime();
        }
    }

    private void heartbeat(int gen) {
        if (gen == generation && welcomed
            && System.nanoTime() - lastSentNanos >= heartbeatNanos / 2) {
            write(Frame.newBuilder().setHeartbeat(Heartbeat.newBuilder().setClientTimeMs(settings.clock().millis()))
                .build());
        }
    }

    // ---------------------------------------------------------------- what the server sends

    private void frame(int gen, Frame frame) throws SQLException {
        if (gen != generation) {
            return;
        }
        switch (frame.getBodyCase()) {
            case WELCOME -> welcome(gen, frame.getWelcome());
            case ACCEPTED -> accepted(frame.getAccepted());
            case DELIVER -> deliver(frame.getDeliver());
            case RECEIPT -> receipt(frame.getReceipt());
            case ERROR -> error(frame.getError());
            case PRESENCE, PRIVACY_SETTINGS -> answer(frame);
            case MEDIA_SLOT -> mediaSlot(frame.getRequestId(), frame.getMediaSlot());
            case KEY_BUNDLES -> keyBundles(frame.getRequestId(), frame.getKeyBundles());
            case PRE_KEYS_LOW -> preKeysLow(frame.getPreKeysLow().getRemaining());
            default -> {
                // Bodies this client does not know: ignored (PROTOCOL.md 2.3).
            }
        }
    }

    private void welcome(int gen, Welcome welcome) throws SQLException {
        welcomed = true;
        attempts = 0;
        refusedToken = null;
        lastProblem = null;
        heartbeatNanos = TimeUnit.MILLISECONDS.toNanos(Math.max(100, welcome.getHeartbeatIntervalMs()));
        maxFrameBytes = welcome.getMaxFrameBytes() > 0 ? welcome.getMaxFrameBytes() : TransportSettings.DEFAULT_MAX_FRAME_BYTES;
        long period = Math.max(50, welcome.getHeartbeatIntervalMs() / 2);
        heartbeatTimer = scheduler.scheduleAtFixedRate(() -> post(() -> heartbeat(gen)), period, period,
            TimeUnit.MILLISECONDS);
        cursor = 0;
        window = settings.maxInFlight();
        sendRetries = 0;
        paceRate = settings.framesPerSecond();
        paceBurst = settings.frameBurst();
        tokens = paceBurst;
        tokensAtNanos = System.nanoTime();
        // Stored entries whose acknowledgement may not have reached the server are at or below the
        // resume point, so the server will not send them again: acknowledge them again.
        List<Long> acks = store.retryUnconfirmed(Store.KIND_ACK, MAX_ACK_ATTEMPTS);
        List<Long> reads = store.retryUnconfirmed(Store.KIND_READ, MAX_ACK_ATTEMPTS);
        EndToEnd.Publish publish = e2e.publishDue(settings.clock().millis());
        afterCommit.add(() -> {
            setState(ConnectionState.CONNECTED);
            if (publish != null) {
                sendPublish(publish);
            }
            List<SafetyAsk> asks = new ArrayList<>(safetyAsks);
            safetyAsks.clear();
            asks.forEach(this::askSafety);
            sendIds(Store.KIND_ACK, acks);
            sendIds(Store.KIND_READ, reads);
            if (!watchRefused && (!watchUsers.isEmpty() || watchContacts)) {
                subscribe();
            }
            List<Request> waiting = waitingRequests;
            waitingRequests = new ArrayList<>();
            waiting.forEach(this::sendRequest);
        });
    }

    private void accepted(Accepted a) throws SQLException {
        Message sent = inFlight.remove(a.getClientMessageId());
        Long seq = inFlightSeq.remove(a.getClientMessageId());
        if (seq != null) {
            // The server's writer takes a connection's frames in order: every acknowledgement
            // written before this send is recorded now.
            for (var it = unconfirmedFrames.headMap(seq).entrySet().iterator(); it.hasNext(); ) {
                IdFrame f = it.next().getValue();
                store.removeUnconfirmed(f.kind(), f.ids());
                framesByRequest.remove(f.requestId());
                it.remove();
            }
        }
        if (sent == null) {
            sent = store.ownByClientId(a.getClientMessageId(), settings.user(), settings.device());
        }
        sendRetries = 0;
        if (window < settings.maxInFlight()) {
            window = Math.min(settings.maxInFlight(), window * 2);
        }
        if (sent != null && store.accept(sent.localId(), a.getServerMessageId(), a.getAcceptedAtMs())) {
            queued--;
            store.deleteOutboxPayloads(sent.localId());
            announceState(sent.localId());
        }
    }

    private void deliver(Deliver d) throws SQLException {
        long id = d.getServerMessageId();
        toAck.add(id);
        advanceResume(id);
        boolean fromMe = d.getSender().equals(settings.user());
        if (fromMe && d.getSenderDevice().equals(settings.device())) {
            // A note to oneself, coming back to the device that sent it: stored already, but its
            // acknowledgement must reach the server like any other.
            store.addUnconfirmed(Store.KIND_ACK, id);
            return;
        }
        Direction direction = fromMe ? Direction.OUTGOING : Direction.INCOMING;
        String conversation = fromMe ? d.getRecipient() : d.getSender();
        MessageState state = fromMe ? MessageState.SENT : MessageState.DELIVERED;
        if (fromMe) {
            MessageState receipted = store.receiptState(id);
            if (receipted != null) {
                state = receipted;
            }
        }
        Long localId;
        if (Envelope.CONTENT_TYPE.equals(d.getContentType())) {
            if (store.exists(id)) {
                return; // a repeat: decrypting it again would fail (its message key is used) and change nothing
            }
            // Decrypted, then stored with the session record it updated and without the one-time
            // pre-key it used, all in this transaction; one that does not decrypt is stored as such.
            EndToEnd.Decryption dec = e2e.decrypt(d);
            Media media = null;
            if (d.hasMedia()) {
                media = dec.media() == null ? media(d.getMedia())
                    : new Media(d.getMedia().getUrl(), dec.media().contentType(), dec.media().plainSize(),
                        dec.media().blobSha256(), null);
            }
            localId = store.insertArrived(conversation, direction, id, d.getClientMessageId(), d.getSender(),
                d.getSenderDevice(), d.getRecipient(), dec.contentType(), dec.body(), state,
                settings.clock().millis(), d.getAcceptedAtMs(), media);
            if (localId != null) {
                store.setDecryption(localId, dec.encryption(), dec.failure());
                if (dec.media() != null && d.hasMedia()) {
                    store.setMediaSecret(localId, new Store.MediaSecret(dec.media().mediaKey(), dec.media().fileName(),
                        d.getMedia().getSizeBytes(), dec.media().blobSha256(), null));
                }
                if (dec.failure() != null) {
                    LOG.info("{}/{}: message {} from {}/{} does not decrypt: {}", settings.user(), settings.device(),
                        d.getClientMessageId(), d.getSender(), d.getSenderDevice(), dec.failure());
                }
                if (dec.identityChanged()) {
                    announceSafetyNumbers(java.util.Set.of(d.getSender()));
                }
            }
        } else {
            localId = store.insertArrived(conversation, direction, id, d.getClientMessageId(), d.getSender(),
                d.getSenderDevice(), d.getRecipient(), d.getContentType(), d.getPayload().toByteArray(), state,
                settings.clock().millis(), d.getAcceptedAtMs(), d.hasMedia() ? media(d.getMedia()) : null);
        }
        if (localId != null) {
            store.addUnconfirmed(Store.KIND_ACK, id);
            if (!listeners.isEmpty()) {
                Message m = store.byLocalId(localId);
                afterCommit.add(() -> announce(l -> l.onMessage(m)));
            }
        }
    }

    private void receipt(Receipt r) throws SQLException {
        long id = r.getServerMessageId();
        toAck.add(id);
        advanceResume(id);
        int status = r.getStatus() == Receipt.Status.READ ? 2 : 1;
        if (!store.insertReceipt(id, r.getMessageServerId(), r.getMessageClientId(), status, r.getByUser(),
            r.getByDevice(), r.getAtMs())) {
            return;
        }
        store.addUnconfirmed(Store.KIND_ACK, id);
        MessageState to = status == 2 ? MessageState.READ : MessageState.DELIVERED;
        Message m = store.byServerId(r.getMessageServerId());
        if (m == null) {
            // The Accepted was lost with a connection: the receipt names our client id.
            Message own = store.ownByClientId(r.getMessageClientId(), settings.user(), settings.device());
            if (own != null && own.state() == MessageState.PENDING) {
                if (store.accept(own.localId(), r.getMessageServerId(), r.getAtMs())) {
                    queued--;
                    announceState(own.localId());
                }
            }
            return; // otherwise kept: applied when the message's Accepted or copy arrives
        }
        if (m.direction() == Direction.OUTGOING && store.raise(m.localId(), to)) {
            announceState(m.localId());
        }
    }

    private void error(Error e) throws SQLException {
        if (!e.getClientMessageId().isEmpty()) {
            sendRefused(e);
        } else if (e.getRequestId() != 0 && sentRequests.containsKey(e.getRequestId())) {
            requestRefused(sentRequests.remove(e.getRequestId()), e);
        } else if (e.getRequestId() != 0 && e.getRequestId() == watchRequestId) {
            watchRefused(e);
        } else if (e.getRequestId() != 0 && slotRequests.containsKey(e.getRequestId())) {
            slotRefused(e);
        } else if (e.getRequestId() != 0 && publishes.containsKey(e.getRequestId())) {
            publishRefused(publishes.remove(e.getRequestId()), e);
        } else if (e.getRequestId() != 0 && fetches.containsKey(e.getRequestId())) {
            fetchRefused(fetches.remove(e.getRequestId()), e);
        } else if (e.getRequestId() != 0 && framesByRequest.containsKey(e.getRequestId())) {
            IdFrame f = framesByRequest.remove(e.getRequestId());
            unconfirmedFrames.remove(f.seq());
            if (e.getCode() == Error.Code.RATE_LIMITED) {
                slowDown();
            }
            if (retryable(e.getCode())) {
                for (long id : f.ids()) {
                    heldIds.get(f.kind()).add(id);
                }
                hold(e.getCode() == Error.Code.RATE_LIMITED ? e.getRetryAfterMs() : retryDelay(50, 2_000));
            } else {
                LOG.warn("{}/{}: the server refused a {} of {} ids: {} {}", settings.user(), settings.device(),
                    f.kind() == Store.KIND_ACK ? "delivery_ack" : "read_receipt", f.ids().length, e.getCode(), e.getText());
            }
        } else if (e.getCode() == Error.Code.UNKNOWN_MESSAGE) {
            // The answer to acknowledging again what the server had already recorded (PROTOCOL.md 1.7).
            LOG.debug("{}/{}: {}", settings.user(), settings.device(), e.getText());
        } else {
            LOG.info("{}/{} from {}: {} {}{}", settings.user(), settings.device(), settings.server(), e.getCode(),
                e.getText(), e.getFatal() ? " (closing)" : "");
        }
        if (e.getFatal()) {
            lastProblem = e.getCode() + ": " + e.getText();
            switch (e.getCode()) {
                case AUTH_FAILED, TOKEN_EXPIRED -> refusedToken = tokenInUse;
                case SESSION_REPLACED, TOO_MANY_DEVICES -> stop = true;
                case TOO_MANY_CONNECTIONS -> minNextDelayMs = 5_000;
                default -> {
                }
            }
        }
    }

    private static boolean retryable(Error.Code code) {
        return switch (code) {
            case INVALID_ARGUMENT, INVALID_RECIPIENT, PAYLOAD_TOO_LARGE -> false;
            default -> true;
        };
    }

    private void sendRefused(Error e) throws SQLException {
        Message m = inFlight.remove(e.getClientMessageId());
        inFlightSeq.remove(e.getClientMessageId());
        if (m == null) {
            m = store.ownByClientId(e.getClientMessageId(), settings.user(), settings.device());
            if (m == null || m.state() != MessageState.PENDING) {
                return;
            }
        }
        if (!retryable(e.getCode())) {
            if (store.fail(m.localId(), e.getCode().name(), e.getText())) {
                queued--;
                store.deleteOutboxPayloads(m.localId());
                announceState(m.localId());
            }
            return;
        }
        if (e.getCode() == Error.Code.STALE_DEVICES) {
            // The recipient or this user has other devices than this one encrypted for, or devices
            // with new identity keys: drop the extra ones' ciphertexts, fetch and encrypt for the
            // missing and changed ones, and send again with the same client id (before anything
            // after it).
            java.util.Set<String> changed = e2e.stale(m, devices(e.getMissingDevicesList()),
                devices(e.getExtraDevicesList()), devices(e.getChangedDevicesList()));
            announceSafetyNumbers(changed);
            cursor = Math.min(cursor, m.localId() - 1);
            return;
        }
        if (e.getCode() == Error.Code.RATE_LIMITED) {
            slowDown();
        }
        // Not stored: send it again, before anything after it, one at a time until the server
        // takes sends again, so later messages overtake it as little as possible.
        cursor = Math.min(cursor, m.localId() - 1);
        window = 1;
        long delay = switch (e.getCode()) {
            case RATE_LIMITED -> Math.max(1, e.getRetryAfterMs());
            case INBOX_FULL -> retryDelay(1_000, 30_000);
            default -> retryDelay(50, 2_000);
        };
        sendRetries++;
        hold(delay);
    }

    private static List<Store.DeviceKey> devices(List<io.courier.transport.proto.DeviceAddress> addresses) {
        return addresses.stream().map(a -> new Store.DeviceKey(a.getUser(), a.getDevice())).toList();
    }

    // ---------------------------------------------------------------- end-to-end keys

    private void sendPublish(EndToEnd.Publish publish) {
        if (!welcomed || !publishes.isEmpty()) {
            return;
        }
        long requestId = requestIds++;
        publishes.put(requestId, publish);
        charge();
        write(Frame.newBuilder().setRequestId(requestId).setKeyBundlePublish(publish.frame()).build());
    }

    /** Publishes what is due (a rotated signed pre-key, new one-time pre-keys) unless a publish is under way. */
    private void publishIfDue() throws SQLException {
        if (!welcomed || !publishes.isEmpty()) {
            return;
        }
        EndToEnd.Publish publish = e2e.publishDue(settings.clock().millis());
        if (publish != null) {
            afterCommit.add(() -> sendPublish(publish));
        }
    }

    private void preKeysLow(int remaining) throws SQLException {
        if (!e2e.publishes()) {
            return;
        }
        // A publish under way carrying one-time pre-keys answers this already (the server may
        // have counted before it took them).
        for (EndToEnd.Publish p : publishes.values()) {
            if (!p.oneTimePreKeyIds().isEmpty()) {
                return;
            }
        }
        e2e.replenish(remaining);
        publishIfDue();
    }

    private void keyBundles(long requestId, KeyBundles bundles) throws SQLException {
        EndToEnd.Publish publish = publishes.remove(requestId);
        if (publish != null) {
            e2e.published(publish);
            keysPublished = true;
            List<CompletableFuture<Void>> waiting = new ArrayList<>(publishWaiters);
            publishWaiters.clear();
            afterCommit.add(() -> waiting.forEach(w -> w.complete(null)));
            // One-time pre-keys made while this publish was under way go out now.
            publishIfDue();
            return;
        }
        FetchRequest fetch = fetches.remove(requestId);
        if (fetch == null) {
            return;
        }
        if (fetchesByUser.get(fetch.user) == fetch) {
            fetchesByUser.remove(fetch.user);
        }
        if (e2e.fetched(fetch.user, fetch.devices, bundles.getBundlesList())) {
            announceSafetyNumbers(java.util.Set.of(fetch.user));
        }
        for (SafetyAsk ask : fetch.asks) {
            if (--ask.outstanding == 0) {
                String number = e2e.safetyNumber(ask.user);
                afterCommit.add(() -> {
                    if (number == null) {
                        ask.result.completeExceptionally(new IllegalStateException(ask.user + " has no device with "
                            + "published keys: there is no safety number until one of their devices encrypts"));
                    } else {
                        ask.result.complete(number);
                    }
                });
            }
        }
        // The outbox may wait for these sessions: rewind so the pump looks again.
        cursor = Math.min(cursor, outboxStart());
    }

    /** The local id before the oldest pending message, where the pump starts over. */
    private long outboxStart() throws SQLException {
        List<Message> first = store.pendingAfter(0, 1);
        return first.isEmpty() ? cursor : first.get(0).localId() - 1;
    }

    private void announceSafetyNumbers(java.util.Set<String> users) throws SQLException {
        for (String user : users) {
            String number = e2e.safetyNumber(user);
            // Without any device of theirs left there is no number; the next device announces one.
            if (number != null) {
                afterCommit.add(() -> announce(l -> l.onSafetyNumberChanged(user, number)));
            }
        }
    }

    /** Fetches {@code user}'s bundles ({@code devices} empty: all) unless a fetch of that user is under way. */
    private FetchRequest fetch(String user, java.util.Set<String> devices) {
        FetchRequest under = fetchesByUser.get(user);
        if (under != null && (under.devices.isEmpty() || under.devices.containsAll(devices))) {
            return under;
        }
        if (under != null) {
            return under; // the pump asks again for the rest once this one is answered
        }
        FetchRequest f = new FetchRequest(user, new java.util.TreeSet<>(devices));
        long requestId = requestIds++;
        fetches.put(requestId, f);
        fetchesByUser.put(user, f);
        charge();
        write(Frame.newBuilder().setRequestId(requestId).setKeyBundleFetch(KeyBundleFetch.newBuilder().setUser(user)
            .addAllDevices(devices)).build());
        return f;
    }

    private void askSafety(SafetyAsk ask) {
        // Every device of both users, fetched afresh, so the number covers the devices as they are.
        List<String> users = ask.user.equals(settings.user()) ? List.of(ask.user) : List.of(ask.user, settings.user());
        ask.outstanding = users.size();
        for (String user : users) {
            FetchRequest under = fetchesByUser.get(user);
            FetchRequest f = under != null && under.devices.isEmpty() ? under : null;
            if (f == null) {
                f = new FetchRequest(user, new java.util.TreeSet<>());
                long requestId = requestIds++;
                fetches.put(requestId, f);
                if (under == null) {
                    fetchesByUser.put(user, f);
                }
                charge();
                write(Frame.newBuilder().setRequestId(requestId).setKeyBundleFetch(KeyBundleFetch.newBuilder()
                    .setUser(user)).build());
            }
            f.asks.add(ask);
        }
    }

    private void publishRefused(EndToEnd.Publish publish, Error e) throws SQLException {
        LOG.warn("{}/{}: the server refused to publish this device's keys: {} {}", settings.user(), settings.device(),
            e.getCode(), e.getText());
        if (!retryable(e.getCode()) && !publish.oneTimePreKeyIds().isEmpty()) {
            // Refused for good (a supply past the server's limit): publishing these one-time
            // pre-keys again would be refused again, and no one can use them; erase them.
            for (int id : publish.oneTimePreKeyIds()) {
                store.deleteOneTimePreKey(id);
            }
        }
        if (retryable(e.getCode())) {
            int gen = generation;
            scheduler.schedule(() -> post(() -> {
                if (gen == generation) {
                    publishIfDue();
                }
            }), retryDelay(250, 30_000), TimeUnit.MILLISECONDS);
        }
    }

    private void fetchRefused(FetchRequest fetch, Error e) {
        if (fetchesByUser.get(fetch.user) == fetch) {
            fetchesByUser.remove(fetch.user);
        }
        if (!retryable(e.getCode()) || e.getCode() == Error.Code.UNSUPPORTED) {
            fetchRefusals.put(fetch.user, e);
        }
        for (SafetyAsk ask : fetch.asks) {
            ask.result.completeExceptionally(new CourierRequestException(e.getCode().name(), e.getText()));
        }
        LOG.info("{}/{}: the server refused to fetch the keys of {}: {} {}", settings.user(), settings.device(),
            fetch.user, e.getCode(), e.getText());
        // The outbox waits for it: ask again a little later.
        hold(e.getCode() == Error.Code.RATE_LIMITED ? Math.max(1, e.getRetryAfterMs()) : retryDelay(250, 5_000));
    }

    /** An answer to a request of this connection, or a watched user's presence. */
    private void answer(Frame frame) {
        Request r = frame.getRequestId() == 0 ? null : sentRequests.get(frame.getRequestId());
        boolean answers = r instanceof PresenceRequest ? frame.hasPresence() : r != null && frame.hasPrivacySettings();
        if (answers) {
            sentRequests.remove(frame.getRequestId());
            if (!r.answered(frame)) {
                sendRequest(r);
            }
        } else if (frame.hasPresence()) {
            io.courier.transport.proto.Presence p = frame.getPresence();
            Presence presence = Presence.of(p.getUser(), p.getOnline(), p.getLastSeenMs());
            afterCommit.add(() -> announce(l -> l.onPresence(presence)));
        }
    }

    /** Queues a request for the client's thread, which sends it when connected. */
    private void enqueue(Request request) {
        if (closed) {
            throw new IllegalStateException("The client of " + settings.database() + " is closed");
        }
        queue.add(new Command() {
            @Override
            public void run() {
                if (welcomed) {
                    sendRequest(request);
                } else {
                    waitingRequests.add(request);
                }
            }

            @Override
            public void failed(RuntimeException e) {
                request.fail(e);
            }
        });
    }

    private void sendRequest(Request request) {
        request.requestId = requestIds++;
        sentRequests.put(request.requestId, request);
        charge();
        write(request.frame().setRequestId(request.requestId).build());
    }

    private void subscribe() {
        watchRequestId = requestIds++;
        charge();
        write(Frame.newBuilder().setRequestId(watchRequestId).setPresenceSubscribe(PresenceSubscribe.newBuilder()
            .addAllUsers(watchUsers).setContacts(watchContacts)).build());
    }

    private void requestRefused(Request request, Error e) {
        switch (e.getCode()) {
            case RATE_LIMITED -> {
                slowDown();
                askLater(request, Math.max(1, e.getRetryAfterMs()));
            }
            case OVERLOADED, INTERNAL -> askLater(request, retryDelay(50, 2_000));
            // Too late to be served: the connection is closing, and the next one asks again.
            case SHUTTING_DOWN -> waitingRequests.add(request);
            default -> request.fail(new CourierRequestException(e.getCode().name(), e.getText()));
        }
    }

    /** Asks again after {@code delayMs}, on this connection or, if it ended meanwhile, on the next. */
    private void askLater(Request request, long delayMs) {
        delayedRequests.add(request);
        scheduler.schedule(() -> post(() -> {
            if (delayedRequests.remove(request)) {
                if (welcomed) {
                    sendRequest(request);
                } else {
                    waitingRequests.add(request);
                }
            }
        }), delayMs, TimeUnit.MILLISECONDS);
    }

    private void watchRefused(Error e) {
        switch (e.getCode()) {
            case RATE_LIMITED, OVERLOADED, INTERNAL -> {
                int gen = generation;
                long delay = e.getCode() == Error.Code.RATE_LIMITED ? Math.max(1, e.getRetryAfterMs()) : retryDelay(50, 2_000);
                scheduler.schedule(() -> post(() -> {
                    if (gen == generation && welcomed) {
                        subscribe();
                    }
                }), delay, TimeUnit.MILLISECONDS);
            }
            case SHUTTING_DOWN -> {
                // The next connection subscribes again.
            }
            default -> {
                // Asking again would be refused again (too many users, or a server that offers no
                // subscriptions): not until the watch is changed.
                watchRefused = true;
                LOG.warn("{}/{}: the server refused to watch the presence of {} users{}: {} {}", settings.user(),
                    settings.device(), watchUsers.size(), watchContacts ? " and the contacts" : "", e.getCode(),
                    e.getText());
            }
        }
    }

    /** Takes a frame's token of the pace even when there is none: later sends wait the longer. */
    private void charge() {
        long now = System.nanoTime();
        tokens = Math.min(paceBurst, tokens + (now - tokensAtNanos) / 1e9 * paceRate);
        tokensAtNanos = now;
        tokens -= 1;
    }

    /** The server's limits are below this client's pace: halve it for the rest of the connection. */
    private void slowDown() {
        paceRate = Math.max(1, paceRate / 2);
        paceBurst = Math.max(1, paceBurst / 2);
        tokens = Math.min(tokens, paceBurst);
    }

    private long retryDelay(long initial, long cap) {
        long bound = Math.min(cap, initial << Math.min(20, sendRetries));
        return Math.max(1, ThreadLocalRandom.current().nextLong(bound + 1));
    }

    /** Sends nothing but heartbeats for {@code delayMs}, then carries on. */
    private void hold(long delayMs) {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delayMs);
        if (holding && until - holdUntilNanos <= 0) {
            return;
        }
        holding = true;
        holdUntilNanos = until;
        int gen = generation;
        scheduler.schedule(() -> post(() -> release(gen)), delayMs, TimeUnit.MILLISECONDS);
    }

    private void release(int gen) {
        if (gen != generation || !holding || System.nanoTime() - holdUntilNanos < 0) {
            return;
        }
        holding = false;
        flushHeld();
        pump();
    }

    /** Takes one frame's token of the pace; false (and a wake-up scheduled) when there is none. */
    private boolean take() {
        long now = System.nanoTime();
        tokens = Math.min(paceBurst, tokens + (now - tokensAtNanos) / 1e9 * paceRate);
        tokensAtNanos = now;
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        if (!paceScheduled) {
            paceScheduled = true;
            long delayMs = Math.max(1, (long) Math.ceil((1 - tokens) / paceRate * 1000));
            int gen = generation;
            scheduler.schedule(() -> post(() -> paced(gen)), delayMs, TimeUnit.MILLISECONDS);
        }
        return false;
    }

    private void paced(int gen) {
        paceScheduled = false;
        if (gen != generation || holding) {
            return;
        }
        flushHeld();
        pump();
    }

    private void flushHeld() {
        for (int kind = 0; kind < 2; kind++) {
            List<Long> ids = new ArrayList<>(heldIds.get(kind));
            heldIds.get(kind).clear();
            sendIds(kind, ids);
        }
    }

    private void advanceResume(long id) {
        if (id > resumePoint) {
            resumePoint = id;
            resumeChanged = true;
        }
    }

    // ---------------------------------------------------------------- what this client sends

    /** Sends acknowledgements or read receipts in frames of at most {@link #MAX_IDS_PER_FRAME} ids. */
    private void sendIds(int kind, List<Long> ids) {
        if (ids.isEmpty() || !welcomed) {
            return;
        }
        if (holding) {
            heldIds.get(kind).addAll(ids);
            return;
        }
        for (int from = 0; from < ids.size(); from += MAX_IDS_PER_FRAME) {
            if (!take()) {
                heldIds.get(kind).addAll(ids.subList(from, ids.size()));
                return;
            }
            List<Long> chunk = ids.subList(from, Math.min(ids.size(), from + MAX_IDS_PER_FRAME));
            long[] array = chunk.stream().mapToLong(Long::longValue).toArray();
            long requestId = requestIds++;
            Frame.Builder frame = Frame.newBuilder().setRequestId(requestId);
            if (kind == Store.KIND_ACK) {
                frame.setDeliveryAck(DeliveryAck.newBuilder().addAllServerMessageIds(chunk));
            } else {
                frame.setReadReceipt(ReadReceipt.newBuilder().addAllServerMessageIds(chunk));
            }
            write(frame.build());
            IdFrame f = new IdFrame(kind, array, ++frameSeq, requestId);
            unconfirmedFrames.put(f.seq(), f);
            framesByRequest.put(requestId, f);
        }
    }

    /** Sends outbox entries, in order, while fewer than the window wait for an answer. */
    private void pump() {
        if (!welcomed || holding || connection == null || exit) {
            return;
        }
        if (uploadsToStart) {
            startUploads();
        }
        int room = window - inFlight.size();
        if (room <= 0) {
            return;
        }
        List<Long> tooLarge = new ArrayList<>();
        List<Long> refused = new ArrayList<>();
        try {
            // After a refusal rewound the cursor, rows still in flight are skipped: read on until
            // the window is full or the outbox ends. Every round moves the cursor on, or ends.
            while (room > 0) {
                int asked = room;
                List<Message> next = store.pendingAfter(cursor, asked);
                boolean paced = false;
                boolean waiting = false;
                for (Message m : next) {
                    if (inFlight.containsKey(m.clientId())) {
                        cursor = m.localId();
                        continue;
                    }
                    Store.MediaSecret secret = m.media() == null ? null : store.mediaSecret(m.localId());
                    EndToEnd.Preparation prepared = prepare(m, secret);
                    if (prepared instanceof EndToEnd.Fetch f) {
                        // Later messages wait too, so that messages to one recipient keep their order.
                        waiting = !requestFetches(f, m, refused);
                        if (waiting) {
                            break;
                        }
                        cursor = m.localId();
                        continue;
                    }
                    if (prepared instanceof EndToEnd.Refused r) {
                        if (store.fail(m.localId(), r.code(), r.text())) {
                            queued--;
                            store.deleteOutboxPayloads(m.localId());
                            refused.add(m.localId());
                        }
                        store.commit();
                        cursor = m.localId();
                        continue;
                    }
                    if (!take()) {
                        paced = true;
                        break;
                    }
                    cursor = m.localId();
                    Send.Builder send = Send.newBuilder().setClientMessageId(m.clientId())
                        .setRecipient(m.recipient()).setContentType(m.contentType())
                        .setPayload(ByteString.copyFrom(m.payload()));
                    if (prepared instanceof EndToEnd.Ready ready) {
                        send.setContentType(Envelope.CONTENT_TYPE).setPayload(ByteString.EMPTY);
                        Map<String, Map<String, byte[]>> identities = new java.util.HashMap<>(2);
                        for (Map.Entry<Store.DeviceKey, byte[]> p : ready.payloads().entrySet()) {
                            if (ready.encryption() == Encryption.SHARED_KEY) {
                                send.setPayload(ByteString.copyFrom(p.getValue()));
                            } else {
                                var copy = io.courier.transport.proto.DevicePayload.newBuilder()
                                    .setDevice(io.courier.transport.proto.DeviceAddress.newBuilder()
                                        .setUser(p.getKey().user()).setDevice(p.getKey().device()))
                                    .setPayload(ByteString.copyFrom(p.getValue()));
                                // The key it was encrypted for: the server refuses it if the device
                                // has published another since (a reinstall), as changed_devices.
                                Map<String, byte[]> known = identities.get(p.getKey().user());
                                if (known == null) {
                                    known = store.identityKeys(p.getKey().user());
                                    identities.put(p.getKey().user(), known);
                                }
                                byte[] identity = known.get(p.getKey().device());
                                if (identity != null) {
                                    copy.setIdentityKey(ByteString.copyFrom(identity));
                                }
                                send.addDevicePayloads(copy);
                            }
                        }
                    }
                    if (m.media() != null && secret != null && prepared instanceof EndToEnd.Ready) {
                        // The reference names the encrypted blob only; its key is in the payloads.
                        send.setMedia(MediaRef.newBuilder().setUrl(m.media().url())
                            .setContentType("application/octet-stream").setSizeBytes(secret.blobSize())
                            .setSha256(ByteString.copyFrom(secret.blobSha256())));
                    } else if (m.media() != null) {
                        send.setMedia(MediaRef.newBuilder().setUrl(m.media().url())
                            .setContentType(m.media().contentType()).setSizeBytes(m.media().sizeBytes())
                            .setSha256(ByteString.copyFrom(m.media().sha256())));
                    }
                    Frame frame = Frame.newBuilder().setSend(send).build();
                    if (frame.getSerializedSize() > maxFrameBytes - DELIVER_OVERHEAD) {
                        tooLarge.add(m.localId());
                        continue;
                    }
                    write(frame);
                    inFlight.put(m.clientId(), m);
                    inFlightSeq.put(m.clientId(), ++frameSeq);
                    room--;
                }
                if (paced || waiting || next.size() < asked) {
                    break;
                }
            }
            if (!refused.isEmpty()) {
                for (long localId : refused) {
                    Message failed = store.byLocalId(localId);
                    afterPump(() -> announce(l -> l.onStateChanged(failed)));
                }
            }
            if (!tooLarge.isEmpty()) {
                List<Message> failed = new ArrayList<>();
                for (long localId : tooLarge) {
                    if (store.fail(localId, Error.Code.PAYLOAD_TOO_LARGE.name(), "The message is larger than the "
                        + "server takes: a send must stay " + DELIVER_OVERHEAD + " bytes below max_frame_bytes = "
                        + maxFrameBytes)) {
                        queued--;
                        failed.add(store.byLocalId(localId));
                    }
                }
                store.commit();
                failed.forEach(m -> announce(l -> l.onStateChanged(m)));
            } else {
                store.commit(); // ends the read transaction
            }
        } catch (SQLException e) {
            pumpAfter.clear();
            dropConnection(Store.failure(store.file(), e, "read the outbox").getMessage());
        }
        List<Runnable> after = new ArrayList<>(pumpAfter);
        pumpAfter.clear();
        after.forEach(Runnable::run);
    }

    /**
     * Encrypts {@code m} when it is to be (committing the ciphertexts with the session records
     * before anything is sent), or says what it waits for.
     */
    private EndToEnd.Preparation prepare(Message m, Store.MediaSecret secret) throws SQLException {
        MediaKeyInfo media = secret == null ? null : new MediaKeyInfo(secret.mediaKey(), secret.blobSha256(),
            m.media().sizeBytes(), secret.fileName() == null ? "" : secret.fileName(), m.media().contentType());
        EndToEnd.Preparation prepared;
        try {
            prepared = e2e.prepare(m, media);
        } catch (io.courier.client.crypto.E2eException e) {
            // What was written before the failure is consistent (each ciphertext with its session
            // record); the message fails, and its ciphertexts are deleted with it.
            prepared = new EndToEnd.Refused(e.reason().name(), e.getMessage());
        }
        if (!(prepared instanceof EndToEnd.Plain)) {
            store.commit();
        }
        return prepared;
    }

    /**
     * Asks for the key bundles {@code m} waits for. False when the server refused such a fetch for
     * good: then {@code m} has failed (its id added to {@code failed}) and the outbox goes on.
     */
    private boolean requestFetches(EndToEnd.Fetch f, Message m, List<Long> failed) throws SQLException {
        for (String user : f.devices().keySet()) {
            Error refusal = fetchRefusals.get(user);
            if (refusal != null) {
                if (store.fail(m.localId(), refusal.getCode().name(), "The server does not hand out the keys of "
                    + user + ": " + refusal.getText())) {
                    queued--;
                    failed.add(m.localId());
                }
                store.commit();
                return false;
            }
        }
        f.devices().forEach(this::fetch);
        return true;
    }

    /** Runs {@code r} once the pump's work is committed (the pump runs after the batch's listeners). */
    private void afterPump(Runnable r) {
        pumpAfter.add(r);
    }

    // ---------------------------------------------------------------- media uploads

    private static Media media(MediaRef ref) {
        return new Media(ref.getUrl(), ref.getContentType(), ref.getSizeBytes(), ref.getSha256().toByteArray(), null);
    }

    /** Asks for a slot for every outbox file not uploaded yet and not under way. */
    private void startUploads() {
        uploadsToStart = false;
        try {
            for (Message m : store.waitingUploads()) {
                if (uploading.contains(m.localId())) {
                    continue;
                }
                long requestId = requestIds++;
                Store.MediaSecret secret = store.mediaSecret(m.localId());
                // An encrypted file's slot is for its blob, which says nothing of the file's type.
                write(Frame.newBuilder().setRequestId(requestId).setMediaSlotRequest(secret == null
                    ? MediaSlotRequest.newBuilder().setContentType(m.media().contentType())
                        .setSizeBytes(m.media().sizeBytes()).setSha256(ByteString.copyFrom(m.media().sha256()))
                    : MediaSlotRequest.newBuilder().setContentType("application/octet-stream")
                        .setSizeBytes(secret.blobSize()).setSha256(ByteString.copyFrom(secret.blobSha256()))).build());
                slotRequests.put(requestId, m.localId());
                uploading.add(m.localId());
            }
        } catch (SQLException e) {
            dropConnection(Store.failure(store.file(), e, "read the outbox").getMessage());
        }
    }

    private void mediaSlot(long requestId, MediaSlot slot) throws SQLException {
        Long localId = slotRequests.remove(requestId);
        if (localId == null) {
            return;
        }
        Message m = store.byLocalId(localId);
        if (m == null || m.state() != MessageState.PENDING || m.media() == null || m.media().file() == null) {
            uploading.remove(localId);
            return;
        }
        TransferProgress progress = uploadProgress.getOrDefault(localId, TransferProgress.NONE);
        Store.MediaSecret secret = store.mediaSecret(localId);
        Path upload = secret != null && secret.blobFile() != null ? secret.blobFile() : m.media().file();
        transfers.upload(slot, upload, progress).whenComplete((answer, error) ->
            post(() -> uploadEnded(localId, slot, answer, error)));
    }

    private void uploadEnded(long localId, MediaSlot slot, MediaTransfers.Upload answer, Throwable error)
        throws SQLException {
        uploading.remove(localId);
        if (answer != null && answer.ok()) {
            uploadFailures.remove(localId);
            uploadProgress.remove(localId);
            if (store.uploaded(localId, slot.getDownloadUrl())) {
                // The cursor may be past it: the message waited while later ones went out.
                cursor = Math.min(cursor, localId - 1);
            }
            return;
        }
        Throwable cause = error instanceof java.util.concurrent.CompletionException c && c.getCause() != null
            ? c.getCause() : error;
        String why = answer != null
            ? "PUT " + MediaTransfers.withoutQuery(slot.getUploadUrl()) + " answered " + answer.status() + ": "
                + answer.body()
            : "PUT " + MediaTransfers.withoutQuery(slot.getUploadUrl()) + " failed: " + cause;
        int failures = uploadFailures.merge(localId, 1, Integer::sum);
        // An answer of 4xx is the service refusing this upload; trying a few times covers an
        // expired slot (a new one is asked for each time), not a refusal that repeats.
        boolean refused = answer != null && answer.status() / 100 == 4 && answer.status() != 408
            && answer.status() != 429;
        if (refused && failures >= 3 || cause instanceof CourierMediaException) {
            LOG.warn("{}/{}: the upload of message {} failed for good: {}", settings.user(), settings.device(),
                localId, why);
            uploadFailures.remove(localId);
            uploadProgress.remove(localId);
            if (store.fail(localId, "UPLOAD_FAILED", why)) {
                queued--;
                announceState(localId);
            }
            return;
        }
        LOG.info("{}/{}: the upload of message {} failed ({}); trying again", settings.user(), settings.device(),
            localId, why);
        retryUploadsLater(Math.min(30_000, 250L << Math.min(7, failures)));
    }

    private void slotRefused(Error e) throws SQLException {
        long localId = slotRequests.remove(e.getRequestId());
        uploading.remove(localId);
        switch (e.getCode()) {
            case RATE_LIMITED -> retryUploadsLater(Math.max(1, e.getRetryAfterMs()));
            case PAYLOAD_TOO_LARGE, INVALID_ARGUMENT, UNSUPPORTED -> {
                uploadProgress.remove(localId);
                if (store.fail(localId, e.getCode().name(), e.getText())) {
                    queued--;
                    announceState(localId);
                }
            }
            default -> retryUploadsLater(retryDelay(250, 30_000));
        }
    }

    private void retryUploadsLater(long delayMs) {
        scheduler.schedule(() -> post(() -> uploadsToStart = true), delayMs, TimeUnit.MILLISECONDS);
    }

    private void reportUnsent() throws SQLException {
        if (welcomed && e2e.rotationDue(settings.clock().millis())) {
            publishIfDue(); // the signed pre-key's week is over
        }
        long threshold = settings.clock().millis() - settings.unsentAfter().toMillis();
        List<Message> pending = store.pendingAfter(unsentCursor, 500);
        List<Message> late = new ArrayList<>();
        for (Message m : pending) {
            if (m.createdAt().toEpochMilli() > threshold) {
                break;
            }
            late.add(m);
            unsentCursor = m.localId();
        }
        if (!late.isEmpty()) {
            afterCommit.add(() -> late.forEach(m -> announce(l -> l.onNotSentYet(m))));
        }
    }

    private void announceState(long localId) throws SQLException {
        if (listeners.isEmpty()) {
            return;
        }
        Message m = store.byLocalId(localId);
        afterCommit.add(() -> announce(l -> l.onStateChanged(m)));
    }

    private void announce(Consumer<CourierListener> event) {
        for (CourierListener l : listeners) {
            try {
                event.accept(l);
            } catch (RuntimeException e) {
                LOG.warn("A listener of {}/{} threw; the client goes on", settings.user(), settings.device(), e);
            }
        }
    }
}
