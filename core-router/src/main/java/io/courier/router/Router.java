package io.courier.router;

import io.courier.router.auth.AuthResult;
import io.courier.router.auth.Authenticator;
import io.courier.router.internal.RetentionSweeper;
import io.courier.router.internal.RouterMetrics;
import io.courier.router.internal.Session;
import io.courier.router.internal.SessionTable;
import io.courier.router.internal.StorageWriter;
import io.courier.storage.DeviceId;
import io.courier.storage.KeyBundle;
import io.courier.storage.RetentionPolicy;
import io.courier.storage.StorageBackend;
import io.courier.storage.StoredMessage;
import io.courier.transport.Connection;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.KeyBundles;
import io.courier.transport.proto.Presence;
import io.courier.transport.proto.Send;
import io.courier.transport.proto.Welcome;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The core router: sessions, routing, receipts, presence and offline drain. Transports hand it
 * every connection ({@link ConnectionHandler}); it reaches storage only through the storage SPI,
 * and never blocks a transport's I/O thread — writes go to the {@link StorageWriter} thread
 * (group commit), reads to a small storage executor.
 *
 * <p>Delivery contract (README, "How a message moves"): a single tick only after commit; an entry leaves the inbox only
 * when the device acknowledges it; receipts are inbox entries too; repeated sends are answered
 * with the original single tick; per-recipient order is commit order across drain and live.
 */
public final class Router implements ConnectionHandler, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Router.class);
    private static final int MAX_CLIENT_MESSAGE_ID = 128;
    /**
     * What a Deliver adds to the Send it carries: the server id and time (11 bytes each at most),
     * the sender and its device (66 each), and the frame's own tag and length (6), rounded up.
     */
    static final int DELIVER_OVERHEAD_BYTES = 160;

    private final RouterConfig config;
    private final StorageBackend storage;
    private final Authenticator authenticator;
    private final Clock clock;
    private final RouterMetrics metrics;
    private final SessionTable sessions = new SessionTable();
    private final Map<Connection, Long> awaitingHello = new ConcurrentHashMap<>();
    private final Map<String, Long> lastSeen = new ConcurrentHashMap<>();
    private final StorageWriter writer;
    private final ExecutorService storageReaders;
    private final ScheduledExecutorService sweeper;
    private final RetentionSweeper retention;
    private final AtomicInteger sessionIds = new AtomicInteger();
    private final Session.InboxReader inboxReader = this::readInboxPage;
    private volatile boolean closing;
    private long lastPresenceFlushMs;

    /**
     * @param config        limits and intervals.
     * @param storage       an open backend; the router does not close it.
     * @param authenticator checks every hello.
     * @param registry      where the router's meters go.
     * @param clock         the time source for heartbeats, expiry and timestamps (inject a fixed one in tests).
     */
    public Router(RouterConfig config, StorageBackend storage, Authenticator authenticator, MeterRegistry registry,
                  Clock clock) {
        this.config = config;
        this.storage = storage;
        this.authenticator = authenticator;
        this.clock = clock;
        this.metrics = new RouterMetrics(registry);
        this.writer = new StorageWriter(storage.messages(), storage.devices(), sessions::get, metrics, clock,
            config.writerQueueCapacity(), config.maxBatch(), config.retention());
        this.storageReaders = Executors.newFixedThreadPool(2, daemon("courier-storage-reader"));
        this.sweeper = Executors.newSingleThreadScheduledExecutor(daemon("courier-sweeper"));
        this.retention = new RetentionSweeper(storage.messages(), config.retention(), clock, config.expiryIntervalMs(),
            registry);
        this.lastPresenceFlushMs = clock.millis();
        metrics.gauge("courier.sessions", "Live sessions (authenticated connections)", sessions, SessionTable::size);
        metrics.gauge("courier.mailbox.depth", "Entries waiting in session mailboxes", sessions, SessionTable::mailboxDepth);
    }

    /**
     * Starts the writer, the sweeper that enforces heartbeats and flushes last-seen times, and
     * storage expiry.
     */
    public Router start() {
        writer.start();
        long period = Math.max(50, config.heartbeatIntervalMs() / 2);
        sweeper.scheduleWithFixedDelay(this::sweepSafely, period, period, TimeUnit.MILLISECONDS);
        retention.start();
        return this;
    }

    public RouterConfig config() {
        return config;
    }

    /** Live sessions (authenticated connections). */
    public int sessionCount() {
        return sessions.size();
    }

    /** Count of error frames sent with {@code code}, for tests and tools. */
    public double errorCount(Error.Code code) {
        return metrics.errorCount(code);
    }

    // ---------------------------------------------------------------- connection events (I/O thread)

    @Override
    public void onOpen(Connection connection) {
        metrics.connectionOpened(connection.transport());
        if (closing) {
            connection.closeWithError(io.courier.transport.Frames.errorBody(Error.Code.SHUTTING_DOWN,
                "Server is shutting down", true));
            return;
        }
        awaitingHello.put(connection, clock.millis());
    }

    @Override
    public void onFrame(Connection connection, Frame frame) {
        metrics.frameIn();
        Session session = (Session) connection.attachment();
        if (frame.getBodyCase() == Frame.BodyCase.BODY_NOT_SET) {
            // Malformed whatever the state: a body-less frame before hello is not a missing hello.
            fatal(connection, Error.Code.MALFORMED_FRAME, "Frame has no body", frame.getRequestId());
            return;
        }
        if (session == null) {
            if (frame.getBodyCase() == Frame.BodyCase.HELLO) {
                hello(connection, frame);
            } else {
                fatal(connection, Error.Code.NOT_AUTHENTICATED,
                    "The first frame must be a hello; got " + bodyName(frame), frame.getRequestId());
            }
            return;
        }
        session.touchNow(clock.millis());
        switch (frame.getBodyCase()) {
            case SEND -> send(session, frame.getSend());
            case DELIVERY_ACK -> toWriter(session, new StorageWriter.AckCommand(session, frame.getDeliveryAck()), frame);
            case READ_RECEIPT -> toWriter(session, new StorageWriter.ReadCommand(session, frame.getReadReceipt()), frame);
            case HEARTBEAT -> {
                // touch() above is all a heartbeat does.
            }
            case PRESENCE_QUERY -> presence(session, frame);
            case KEY_BUNDLE_PUBLISH -> publishKeys(session, frame);
            case KEY_BUNDLE_FETCH -> fetchKeys(session, frame);
            case MEDIA_SLOT_REQUEST -> reply(connection, Error.Code.UNSUPPORTED,
                "Media slots need the media service, which this server does not run", frame.getRequestId());
            case HELLO -> fatal(connection, Error.Code.PROTOCOL_VIOLATION,
                "Hello was already accepted on this connection", frame.getRequestId());
            default -> fatal(connection, Error.Code.PROTOCOL_VIOLATION,
                "Clients may not send " + bodyName(frame), frame.getRequestId());
        }
    }

    @Override
    public void onActivity(Connection connection) {
        Session session = (Session) connection.attachment();
        if (session != null) {
            session.touchNow(clock.millis());
        }
    }

    @Override
    public long idleLimitMs() {
        return (long) config.heartbeatIntervalMs() * config.missedHeartbeats();
    }

    @Override
    public void onWritabilityChanged(Connection connection) {
        Session session = (Session) connection.attachment();
        if (session != null && connection.isWritable()) {
            session.schedule();
        }
    }

    @Override
    public void onTransportError(Connection connection, Error.Code code, String detail) {
        metrics.error(code);
        Session session = (Session) connection.attachment();
        LOG.info("Transport refused input from {} ({}): {} {}", connection.remoteAddress(),
            session == null ? "unauthenticated" : session.device(), code, detail);
    }

    @Override
    public void onClose(Connection connection) {
        metrics.connectionClosed(connection.transport());
        awaitingHello.remove(connection);
        Session session = (Session) connection.attachment();
        if (session != null) {
            session.markClosed();
            sessions.remove(session);
            lastSeen.merge(session.device().user(), clock.millis(), Math::max);
        }
    }

    // ---------------------------------------------------------------- frames

    private void hello(Connection connection, Frame frame) {
        Hello hello = frame.getHello();
        String device = hello.getDevice().isEmpty() ? DeviceId.PRIMARY : hello.getDevice();
        if (!DeviceId.isValidId(hello.getUser()) || !DeviceId.isValidId(device)) {
            fatal(connection, Error.Code.INVALID_ARGUMENT, "Hello needs a user and device of 1-64 characters of "
                + "[A-Za-z0-9._-]; got user '" + hello.getUser() + "' device '" + device + "'", frame.getRequestId());
            return;
        }
        long now = clock.millis();
        AuthResult auth = authenticator.authenticate(hello.getUser(), device, hello.getToken(), now);
        if (!auth.verified()) {
            LOG.info("Refused hello from {} as {}/{}: {}", connection.remoteAddress(), hello.getUser(), device, auth.reason());
            fatal(connection, auth.code(), auth.reason(), frame.getRequestId());
            return;
        }
        DeviceId id = new DeviceId(hello.getUser(), device);
        awaitingHello.remove(connection);
        Session session = new Session(id, connection, config.mailboxCapacity(), hello.getResumeAfterServerId(), now,
            inboxReader, metrics);
        connection.attach(session);
        if (!DeviceId.PRIMARY.equals(device) && !writer.offer(new StorageWriter.RegisterCommand(id))) {
            fatal(connection, Error.Code.OVERLOADED, "Server is overloaded; try again shortly", frame.getRequestId());
            return;
        }
        Session replaced = sessions.put(session);
        if (replaced != null) {
            replaced.connection().closeWithError(io.courier.transport.Frames.errorBody(Error.Code.SESSION_REPLACED,
                "Device " + id + " connected again on another connection", true));
            metrics.error(Error.Code.SESSION_REPLACED);
        }
        connection.send(Frame.newBuilder().setRequestId(frame.getRequestId()).setWelcome(Welcome.newBuilder()
            .setSessionId(id + "#" + sessionIds.incrementAndGet())
            .setServerTimeMs(now)
            .setHeartbeatIntervalMs(config.heartbeatIntervalMs())
            .setMaxFrameBytes(connection.maxFrameBytes())
            .setUser(id.user())
            .setDevice(id.device())).build());
        metrics.frameOut();
        // Registered before the first read: anything committed from here on is also offered live.
        session.schedule();
    }

    private void send(Session session, Send send) {
        String clientId = send.getClientMessageId();
        if (clientId.isEmpty() || clientId.length() > MAX_CLIENT_MESSAGE_ID) {
            sendError(session, Error.Code.INVALID_ARGUMENT,
                "client_message_id must be 1-" + MAX_CLIENT_MESSAGE_ID + " characters, was " + clientId.length(), clientId);
            return;
        }
        if (!DeviceId.isValidId(send.getRecipient())) {
            sendError(session, Error.Code.INVALID_RECIPIENT, "Recipient '" + send.getRecipient()
                + "' is not a user id (1-64 characters of [A-Za-z0-9._-])", clientId);
            return;
        }
        if (send.getPayload().size() > config.maxPayloadBytes()) {
            sendError(session, Error.Code.PAYLOAD_TOO_LARGE, "Payload of " + send.getPayload().size()
                + " bytes is above router.max-payload-bytes = " + config.maxPayloadBytes(), clientId);
            return;
        }
        int maxFrame = session.connection().maxFrameBytes();
        if (maxFrame > 0 && send.getSerializedSize() > maxFrame - DELIVER_OVERHEAD_BYTES) {
            // Accepting it would store a message whose Deliver (the Send plus sender, device, id and
            // time) can never be written to the recipient: refuse it before the single tick.
            sendError(session, Error.Code.PAYLOAD_TOO_LARGE, "Send of " + send.getSerializedSize()
                + " bytes would not fit a Deliver within max-frame-bytes = " + maxFrame + "; keep sends at least "
                + DELIVER_OVERHEAD_BYTES + " bytes below it", clientId);
            return;
        }
        if (!writer.offer(new StorageWriter.SendCommand(session, send))) {
            sendError(session, Error.Code.OVERLOADED, "Server is overloaded; the message was not stored, send it again",
                clientId);
        }
    }

    private void toWriter(Session session, Object command, Frame frame) {
        if (!writer.offer(command)) {
            reply(session.connection(), Error.Code.OVERLOADED, "Server is overloaded; send the "
                + bodyName(frame) + " again", frame.getRequestId());
        }
    }

    private void presence(Session session, Frame frame) {
        String user = frame.getPresenceQuery().getUser();
        if (!DeviceId.isValidId(user)) {
            reply(session.connection(), Error.Code.INVALID_ARGUMENT, "Presence query for malformed user '" + user + "'",
                frame.getRequestId());
            return;
        }
        if (sessions.isOnline(user)) {
            session.connection().send(presenceFrame(frame, user, true, clock.millis()));
            return;
        }
        Long recent = lastSeen.get(user);
        onStorage(session, frame, () -> {
            OptionalLong stored = storage.presence().lastSeen(user);
            long seen = Math.max(recent == null ? 0 : recent, stored.orElse(0));
            session.connection().send(presenceFrame(frame, user, false, seen));
        });
    }

    private static Frame presenceFrame(Frame query, String user, boolean online, long lastSeenMs) {
        return Frame.newBuilder().setRequestId(query.getRequestId()).setPresence(Presence.newBuilder()
            .setUser(user).setOnline(online).setLastSeenMs(lastSeenMs)).build();
    }

    private void publishKeys(Session session, Frame frame) {
        var publish = frame.getKeyBundlePublish();
        if (publish.getAgreementKey().isEmpty() || publish.getIdentityKey().isEmpty()) {
            reply(session.connection(), Error.Code.INVALID_ARGUMENT, "A key bundle needs an identity key and an agreement key",
                frame.getRequestId());
            return;
        }
        KeyBundle bundle = new KeyBundle(publish.getIdentityKey().toByteArray(), publish.getAgreementKey().toByteArray(),
            publish.getSignature().toByteArray());
        onStorage(session, frame, () -> {
            storage.keys().publish(session.device(), bundle);
            session.connection().send(Frame.newBuilder().setRequestId(frame.getRequestId())
                .setKeyBundles(KeyBundles.newBuilder().setUser(session.device().user())).build());
        });
    }

    private void fetchKeys(Session session, Frame frame) {
        String user = frame.getKeyBundleFetch().getUser();
        if (!DeviceId.isValidId(user)) {
            reply(session.connection(), Error.Code.INVALID_ARGUMENT, "Key fetch for malformed user '" + user + "'",
                frame.getRequestId());
            return;
        }
        onStorage(session, frame, () -> {
            KeyBundles.Builder answer = KeyBundles.newBuilder().setUser(user);
            storage.keys().bundles(user).forEach((device, bundle) -> answer.addBundles(KeyBundles.Bundle.newBuilder()
                .setDevice(device)
                .setIdentityKey(com.google.protobuf.ByteString.copyFrom(bundle.identityKey()))
                .setAgreementKey(com.google.protobuf.ByteString.copyFrom(bundle.agreementKey()))
                .setSignature(com.google.protobuf.ByteString.copyFrom(bundle.signature()))));
            session.connection().send(Frame.newBuilder().setRequestId(frame.getRequestId()).setKeyBundles(answer).build());
        });
    }

    /** Runs a blocking storage call off the I/O thread; failures become an INTERNAL error. */
    private void onStorage(Session session, Frame frame, Runnable task) {
        try {
            storageReaders.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.error("Storage call for {} from {} failed", bodyName(frame), session.device(), e);
                    reply(session.connection(), Error.Code.INTERNAL, "Storage failed; try again", frame.getRequestId());
                }
            });
        } catch (RejectedExecutionException e) {
            reply(session.connection(), Error.Code.SHUTTING_DOWN, "Server is shutting down", frame.getRequestId());
        }
    }

    /** Reads a page of the session's inbox on a storage thread, hands it back on the I/O thread. */
    private void readInboxPage(Session session, long afterServerId) {
        int limit = config.drainPageSize();
        try {
            storageReaders.execute(() -> {
                try {
                    List<StoredMessage> page = storage.messages().pending(session.device(), afterServerId, limit);
                    session.connection().executor().execute(() -> session.onPageArrived(page, page.size() == limit));
                } catch (RuntimeException e) {
                    LOG.error("Reading the inbox of {} failed; closing its connection", session.device(), e);
                    session.connection().executor().execute(session::onPageFailed);
                    session.connection().closeWithError(io.courier.transport.Frames.errorBody(Error.Code.INTERNAL,
                        "Storage failed while reading your inbox; reconnect", true));
                    metrics.error(Error.Code.INTERNAL);
                }
            });
        } catch (RejectedExecutionException e) {
            session.connection().executor().execute(session::onPageFailed);
        }
    }

    // ---------------------------------------------------------------- errors

    private void sendError(Session session, Error.Code code, String text, String clientMessageId) {
        session.connection().send(Frame.newBuilder().setError(Error.newBuilder().setCode(code).setText(text)
            .setClientMessageId(clientMessageId)).build());
        metrics.error(code);
    }

    private void reply(Connection connection, Error.Code code, String text, long requestId) {
        connection.send(Frame.newBuilder().setError(Error.newBuilder().setCode(code).setText(text)
            .setRequestId(requestId)).build());
        metrics.error(code);
    }

    private void fatal(Connection connection, Error.Code code, String text, long requestId) {
        connection.closeWithError(Error.newBuilder().setCode(code).setText(text).setRequestId(requestId).setFatal(true)
            .build());
        metrics.error(code);
    }

    private static String bodyName(Frame frame) {
        return frame.getBodyCase().name().toLowerCase(java.util.Locale.ROOT);
    }

    // ---------------------------------------------------------------- housekeeping

    private void sweepSafely() {
        try {
            sweep();
        } catch (RuntimeException e) {
            LOG.error("Housekeeping sweep failed; will retry", e);
        }
    }

    /**
     * Closes sessions that missed too many heartbeats and connections that never said hello, and
     * writes last-seen times at the coalesced interval. Runs on the sweeper thread; public so tests
     * with a fake clock can drive it.
     */
    public void sweep() {
        long now = clock.millis();
        long idleLimit = idleLimitMs();
        sessions.forEach(session -> {
            if (now - session.lastActivityMs() > idleLimit) {
                fatal(session.connection(), Error.Code.IDLE_TIMEOUT, "No heartbeat for " + (now - session.lastActivityMs())
                    + " ms (limit " + idleLimit + " ms)", 0);
            }
        });
        awaitingHello.forEach((connection, openedAt) -> {
            if (now - openedAt > config.helloTimeoutMs()) {
                awaitingHello.remove(connection);
                fatal(connection, Error.Code.NOT_AUTHENTICATED, "No hello within " + config.helloTimeoutMs() + " ms", 0);
            }
        });
        if (now - lastPresenceFlushMs >= config.presenceFlushIntervalMs()) {
            flushPresence(now);
        }
    }

    /**
     * Removes the de-duplication records and delivered entries that have expired by the router's
     * clock; a timer does this every {@code router.expiry-interval-ms}. Blocks until done;
     * public so tests with a fake clock can drive it.
     */
    public RetentionPolicy.Expired expire() {
        return retention.expire();
    }

    /** Writes the last activity of every online user and of everyone who left since the last flush. */
    public void flushPresence(long now) {
        lastPresenceFlushMs = now;
        sessions.forEach(session -> lastSeen.merge(session.device().user(), session.lastActivityMs(), Math::max));
        if (lastSeen.isEmpty()) {
            return;
        }
        Map<String, Long> batch = Map.copyOf(lastSeen);
        storage.presence().saveLastSeen(batch);
        batch.forEach(lastSeen::remove);
    }

    /**
     * Stops routing: refuses new hellos, commits what the writer has queued, writes last-seen
     * times. Call after the transports stopped accepting. Does not close the storage backend.
     */
    @Override
    public void close() {
        closing = true;
        sweeper.shutdownNow();
        retention.close();
        writer.close();
        storageReaders.shutdown();
        try {
            if (!storageReaders.awaitTermination(10, TimeUnit.SECONDS)) {
                storageReaders.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            flushPresence(clock.millis());
        } catch (RuntimeException e) {
            LOG.error("Could not write last-seen times at shutdown", e);
        }
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, name + "-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }
}
