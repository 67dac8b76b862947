package io.courier.router;

import io.courier.router.auth.AuthResult;
import io.courier.router.auth.Authenticator;
import io.courier.router.auth.SignedInSessions;
import io.courier.router.cluster.ClusterLink;
import io.courier.router.internal.BatchStaging;
import io.courier.router.internal.BundleDevices;
import io.courier.router.internal.PresenceAndKeys;
import io.courier.router.internal.PresenceService;
import io.courier.router.internal.RetentionSweeper;
import io.courier.router.internal.RateLimiter;
import io.courier.router.internal.RouterMetrics;
import io.courier.router.internal.Session;
import io.courier.router.internal.SessionTable;
import io.courier.router.internal.StorageReader;
import io.courier.router.internal.StorageWriter;
import io.courier.router.internal.Sweeper;
import io.courier.router.internal.WriterCommand;
import io.courier.storage.DeviceDirectory;
import io.courier.storage.DeviceId;
import io.courier.storage.RetentionPolicy;
import io.courier.storage.StorageBackend;
import io.courier.storage.StoredMessage;
import io.courier.transport.Connection;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.Frames;
import io.courier.transport.IoThreadErrors;
import io.courier.transport.proto.DeviceAddress;
import io.courier.transport.proto.DevicePayload;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Send;
import io.courier.transport.proto.Welcome;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.SocketAddress;
import java.time.Clock;
import java.util.Locale;
import java.util.function.BiConsumer;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The core router: sessions, routing, receipts, presence and offline drain. Transports hand it
 * every connection ({@link ConnectionHandler}); it reaches storage only through the storage SPI.
 *
 * <p>This class is what runs on the transports' I/O threads: connection callbacks, hello, and
 * the checks and dispatch of every frame. Nothing here blocks; the work is laid out by thread:
 * <ul>
 *   <li>{@link StorageWriter} — the one thread that changes the message store; it group-commits
 *       {@link WriterCommand}s through {@link BatchStaging} (sends, acks, reads, receipts,
 *       de-duplication) and answers only after the commit;</li>
 *   <li>{@link StorageReader} — inbox pages on (re)connect and overflow, and the storage calls of
 *       {@link PresenceAndKeys} (key bundles);</li>
 *   <li>{@link PresenceService} — presence queries, privacy settings and subscriptions, under the
 *       mutual privacy rule, with their storage calls;</li>
 *   <li>{@link Sweeper} — hello and heartbeat timeouts, last-seen writes, the end of presence
 *       coalescing windows;</li>
 *   <li>{@link Session} — one per connected device, drained on its connection's I/O thread.</li>
 * </ul>
 *
 * <p>Delivery contract (README, "How a message moves"): a single tick only after commit; an entry
 * leaves the inbox only when the device acknowledges or reads it, and only once it was sent to
 * that device; receipts are inbox entries too; repeated sends are answered with the original
 * single tick; per-recipient order is commit order across drain and live.
 *
 * <p>Fair shares (README, "Inside the router"): every frame after hello passes its connection's
 * rate limits here first ({@code RATE_LIMITED}, and a connection that goes on far beyond them is
 * closed); sends, acks and reads then take their session's share of the writer's queue
 * ({@code OVERLOADED} on that connection only when it is used up); an ack or read receipt names
 * at most {@code router.max-ids-per-ack} ids. Inbox quotas and the device limit are the writer's.
 */
public final class Router implements ConnectionHandler, SignedInSessions, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Router.class);
    private static final int MAX_CLIENT_MESSAGE_ID = 128;
    /**
     * What a Deliver adds to the Send it carries: the server id and time (11 bytes each at most),
     * the sender and its device (66 each), and the frame's own tag and length (6), rounded up.
     */
    static final int DELIVER_OVERHEAD_BYTES = 160;
    /**
     * A connection is closed once this many times {@code router.frame-burst} of its frames have
     * been refused by its rate limits since it last kept within them (its buckets were full):
     * a client that reads its RATE_LIMITED answers never gets there.
     */
    static final int RATE_LIMIT_CLOSE_FACTOR = 10;

    private final RouterConfig config;
    private final Authenticator authenticator;
    private final Clock clock;
    private final RouterMetrics metrics;
    private final SessionTable sessions = new SessionTable();
    private final StorageWriter writer;
    private final StorageReader reader;
    private final Sweeper sweeper;
    private final PresenceAndKeys presenceAndKeys;
    private final PresenceService presence;
    private final RetentionSweeper retention;
    private final AtomicInteger sessionIds = new AtomicInteger();
    private final RateLimiter.Limits rateLimits;
    private final MediaSlots media;
    private final DeviceDirectory devices;
    private volatile boolean closing;
    // The other nodes of the cluster, when this router is one of several (null on a single node).
    private volatile ClusterLink cluster;

    /**
     * @param config        limits and intervals.
     * @param storage       an open backend; the router does not close it.
     * @param authenticator checks every hello.
     * @param registry      where the router's meters go.
     * @param clock         the time source for heartbeats, expiry and timestamps (inject a fixed one in tests).
     */
    public Router(RouterConfig config, StorageBackend storage, Authenticator authenticator, MeterRegistry registry,
                  Clock clock) {
        this(config, storage, authenticator, registry, clock, null);
    }

    /**
     * As {@link #Router(RouterConfig, StorageBackend, Authenticator, MeterRegistry, Clock)}, with
     * the media service that answers {@code MediaSlotRequest}s ({@code null}: none, they are
     * answered {@code UNSUPPORTED}).
     */
    public Router(RouterConfig config, StorageBackend storage, Authenticator authenticator, MeterRegistry registry,
                  Clock clock, MediaSlots media) {
        this.media = media;
        this.devices = storage.devices();
        this.config = config;
        this.authenticator = authenticator;
        this.clock = clock;
        this.metrics = new RouterMetrics(registry);
        this.rateLimits = new RateLimiter.Limits(config.framesPerSecond(), config.frameBurst(), config.bytesPerSecond(),
            config.byteBurst(), (long) RATE_LIMIT_CLOSE_FACTOR * config.frameBurst());
        BundleDevices bundleDevices = new BundleDevices(storage.keys());
        this.writer = new StorageWriter(new BatchStaging(storage.messages(), storage.devices(), bundleDevices, metrics,
            clock, config),
            sessions::get, metrics, config.writerQueueCapacity(), config.maxBatch(), config.writerShare(),
            switch (config.writer()) {
                case THREAD -> false;
                case INLINE -> true;
                case AUTO -> storage.messages().commitNeverWaits();
            });
        this.reader = new StorageReader(storage.messages(), config.drainPageSize(), metrics);
        this.sweeper = new Sweeper(config, sessions, storage.presence(), metrics, clock);
        this.presenceAndKeys = new PresenceAndKeys(reader, storage.keys(), bundleDevices, sessions, metrics, config);
        this.presence = new PresenceService(config, sessions, sweeper, storage.presence(), metrics, clock);
        sweeper.presenceService(presence);
        this.retention = new RetentionSweeper(storage.messages(), config.retention(), clock, config.expiryIntervalMs(),
            registry);
        metrics.gauge("courier.sessions", "Live sessions (authenticated connections)", sessions, SessionTable::size);
        metrics.gauge("courier.mailbox.depth", "Entries waiting in session mailboxes", sessions, SessionTable::mailboxDepth);
    }

    /**
     * Starts the writer, the sweeper that enforces heartbeats and flushes last-seen times, and
     * storage expiry.
     */
    public Router start() {
        ClusterLink link = cluster;
        if (link != null) {
            link.start(new ClusterListener());
            writer.elsewhere(link::committed);
        }
        writer.start();
        sweeper.start();
        retention.start();
        return this;
    }

    /**
     * Makes this router one node of a cluster: sessions are announced to {@code link}, entries
     * committed for devices with no session here are signalled through it, and what other nodes
     * signal reaches the sessions here. Call before {@link #start()}. Needs
     * {@code router.shared-store}: the nodes share one store.
     *
     * @throws IllegalStateException when {@code router.shared-store} is off.
     */
    public Router cluster(ClusterLink link) {
        if (!config.sharedStore()) {
            throw new IllegalStateException("A cluster node needs router.shared-store = true: the nodes share one store");
        }
        this.cluster = link;
        presence.cluster(link, devices);
        return this;
    }

    /** What other nodes tell this one: a signal wakes a session, a newer session elsewhere closes it. */
    private final class ClusterListener implements ClusterLink.Listener {
        @Override
        public void inboxChanged(DeviceId device) {
            Session session = sessions.get(device);
            if (session != null) {
                metrics.clusterWake();
                session.storeChanged();
            }
        }

        @Override
        public void committed(DeviceId device, StoredMessage message, long after) {
            Session session = sessions.get(device);
            if (session != null) {
                metrics.clusterWake();
                session.offer(new BatchStaging.Offer(device, message, after));
            }
        }

        @Override
        public void replaced(DeviceId device, long number) {
            Session session = sessions.get(device);
            if (session != null && session.number() == number) {
                LOG.info("Closing {}: the device connected on another node", session);
                session.connection().closeWithError(Frames.errorBody(Error.Code.SESSION_REPLACED,
                    "Device " + device + " connected again on another server", true));
                metrics.error(Error.Code.SESSION_REPLACED);
            }
        }

        @Override
        public void presenceChanged(String user, long lastSeenMs) {
            presence.remoteChanged(user, lastSeenMs);
        }

        @Override
        public void reconnected() {
            sessions.forEach(Session::storeChanged);
        }

        @Override
        public void forEachSession(BiConsumer<DeviceId, Long> action) {
            sessions.forEach(session -> action.accept(session.device(), session.number()));
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

    public RouterConfig config() {
        return config;
    }

    /** Live sessions (authenticated connections). */
    public int sessionCount() {
        return sessions.size();
    }

    /** Last-seen rows written to the presence store so far ({@code courier_presence_writes_total}). */
    public double presenceWriteCount() {
        return metrics.presenceWriteCount();
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
            connection.closeWithError(Frames.errorBody(Error.Code.SHUTTING_DOWN, "Server is shutting down", true));
            return;
        }
        sweeper.awaitHello(connection);
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
        long now = clock.millis();
        session.touchNow(now);
        if (session.helloRefused()) {
            return; // the writer refused its hello and is closing the connection
        }
        long waitMs = session.limiter().admit(now, frame.getSerializedSize());
        if (waitMs > 0) {
            rateLimited(session, frame, waitMs);
            return;
        }
        switch (frame.getBodyCase()) {
            case SEND -> send(session, frame.getSend());
            // Both carry what this connection was sent so far: only that may be acknowledged or read.
            case DELIVERY_ACK -> {
                if (withinIdCap(session, frame, frame.getDeliveryAck().getServerMessageIdsCount())) {
                    toWriter(session, new WriterCommand.AckCommand(session.device(), connection,
                        frame.getDeliveryAck(), session.resumedAfter(), session.lastSentId(), session), frame);
                }
            }
            case READ_RECEIPT -> {
                if (withinIdCap(session, frame, frame.getReadReceipt().getServerMessageIdsCount())) {
                    toWriter(session, new WriterCommand.ReadCommand(session.device(), connection,
                        frame.getReadReceipt(), session.resumedAfter(), session.lastSentId(), session), frame);
                }
            }
            case HEARTBEAT -> {
                // touchNow() above is all a heartbeat does.
            }
            case PRESENCE_QUERY -> presence.query(session, frame);
            case PRIVACY_UPDATE -> presence.update(session, frame);
            case PRESENCE_SUBSCRIBE -> presence.subscribe(session, frame);
            case KEY_BUNDLE_PUBLISH -> presenceAndKeys.publish(session, frame);
            case KEY_BUNDLE_FETCH -> presenceAndKeys.fetch(session, frame);
            case MEDIA_SLOT_REQUEST -> mediaSlot(session, frame);
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
        return sweeper.idleLimitMs();
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
        LOG.info("Transport closing {} from {} ({}): {} {}", connection.transport(), connection.remoteAddress(),
            session == null ? "unauthenticated" : session.device(), code, detail);
    }

    @Override
    public void onIoThreadError(String transport, SocketAddress remote, Connection connection, Throwable error) {
        IoThreadErrors.Kind kind = IoThreadErrors.classify(error);
        metrics.ioThreadError(kind);
        Session session = connection == null ? null : (Session) connection.attachment();
        LOG.error("{} while serving {} connection {} from {} ({}); closing that connection{}",
            error.getClass().getSimpleName(), transport, connection == null ? "(not yet open)" : "#" + connection.id(),
            remote, session == null ? "unauthenticated" : session.device(),
            kind.recoverable() ? "; the server goes on" : "; not recoverable, the process stops", error);
    }

    @Override
    public void onTransportTimeout(String transport, SocketAddress remote, String detail) {
        metrics.transportTimeout(transport);
        // Debug: the peer decides how often this happens; the metric counts it.
        LOG.debug("Transport '{}' closed {}: {}", transport, remote, detail);
    }

    /** Count of connections {@code transport} closed for taking too long before they opened (tests and tools). */
    public double transportTimeoutCount(String transport) {
        return metrics.transportTimeoutCount(transport);
    }

    /** Count of Errors of {@code kind} that closed a connection on an I/O thread (tests and tools). */
    public double ioThreadErrorCount(IoThreadErrors.Kind kind) {
        return metrics.ioThreadErrorCount(kind);
    }

    @Override
    public void onClose(Connection connection) {
        metrics.connectionClosed(connection.transport());
        Session session = (Session) connection.attachment();
        // The last-seen time first: whoever learns from the session table that the user went
        // offline finds it.
        sweeper.closed(connection, session);
        if (session != null) {
            session.markClosed();
            ClusterLink link = cluster;
            if (link != null && sessions.get(session.device()) == session) {
                // Before the table: other nodes, told the user went offline, no longer find it here.
                link.disconnected(session.device(), session.number());
            }
            sessions.remove(session);
            presence.closed(session);
        }
    }

    // ---------------------------------------------------------------- frames

    private void hello(Connection connection, Frame frame) {
        Hello hello = frame.getHello();
        String device = hello.getDevice().isEmpty() ? DeviceId.PRIMARY : hello.getDevice();
        if (!DeviceId.isValidId(hello.getUser()) || !DeviceId.isValidId(device)) {
            fatal(connection, Error.Code.INVALID_ARGUMENT, "Hello needs a user and device of "
                + DeviceId.SYNTAX + "; got user " + Frames.quote(hello.getUser()) + " device " + Frames.quote(device),
                frame.getRequestId());
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
        sweeper.helloAccepted(connection);
        // On a shared store other servers commit too: an offer that does not follow what the
        // session was sent makes it read its inbox (Session), where what they committed is.
        Session session = new Session(id, connection, config.mailboxCapacity(),
            hello.getResumeAfterServerId(), now, reader, metrics, new RateLimiter(rateLimits, now));
        session.credentialsIssuedAtMs(auth.issuedAtMs());
        long number = sessionIds.incrementAndGet();
        session.number(number);
        connection.attach(session);
        Frame welcome = Frame.newBuilder().setRequestId(frame.getRequestId()).setWelcome(Welcome.newBuilder()
            .setSessionId(id + "#" + number)
            .setServerTimeMs(now)
            .setHeartbeatIntervalMs(config.heartbeatIntervalMs())
            .setMaxFrameBytes(connection.maxFrameBytes())
            .setUser(id.user())
            .setDevice(id.device())).build();
        // Another device is registered by the writer, which refuses it (and closes this connection,
        // taking nothing it sent) if its user has too many devices already.
        // On a shared store the welcome waits for the registration: a message another server
        // accepts for the user once this device has been welcomed must find it in the directory.
        boolean registers = !DeviceId.PRIMARY.equals(device);
        Runnable welcomed = () -> {
            session.welcome(welcome);
            presenceAndKeys.welcomed(session);
        };
        boolean welcomeLater = registers && config.sharedStore();
        if (registers && writer.offer(new WriterCommand.RegisterCommand(id, session, welcomeLater ? welcomed : null))
            != StorageWriter.Offered.QUEUED) {
            fatal(connection, Error.Code.OVERLOADED, "Server is overloaded; try again shortly", frame.getRequestId());
            return;
        }
        ClusterLink link = cluster;
        if (link != null) {
            // Before the table: the directory names this node before other nodes hear the user is online.
            link.connected(id, number);
        }
        // In the table before the first read: anything committed from here on is also offered live.
        Session replaced = sessions.put(session);
        if (replaced != null) {
            replaced.connection().closeWithError(Frames.errorBody(Error.Code.SESSION_REPLACED,
                "Device " + id + " connected again on another connection", true));
            metrics.error(Error.Code.SESSION_REPLACED);
        }
        // From here the admission gate never evicts this connection to make room for a newcomer.
        connection.markAuthenticated();
        if (!welcomeLater) {
            welcomed.run();
        }
    }

    private void send(Session session, Send send) {
        String clientId = send.getClientMessageId();
        if (clientId.isEmpty() || clientId.length() > MAX_CLIENT_MESSAGE_ID) {
            // An over-long id is not echoed: the error says how long it was instead.
            sendError(session, Error.Code.INVALID_ARGUMENT, "client_message_id must be 1-" + MAX_CLIENT_MESSAGE_ID
                + " characters, was " + clientId.length(), clientId.length() > MAX_CLIENT_MESSAGE_ID ? "" : clientId);
            return;
        }
        if (!DeviceId.isValidId(send.getRecipient())) {
            sendError(session, Error.Code.INVALID_RECIPIENT, "Recipient " + Frames.quote(send.getRecipient())
                + " is not a user id (" + DeviceId.SYNTAX + ")", clientId);
            return;
        }
        if (send.getDevicePayloadsCount() > 0 && !devicePayloadsValid(session, send, clientId)) {
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
        switch (writer.offer(new WriterCommand.SendCommand(session.device(), session.connection(), send, session))) {
            case QUEUED -> {
                if (media != null && send.hasMedia()) {
                    media.referenced(session.device().user(), send.getMedia());
                }
            }
            case SHARE_FULL -> sendError(session, Error.Code.OVERLOADED, shareFull(session)
                + "; the message was not stored, send it again once earlier frames are answered", clientId);
            case QUEUE_FULL -> sendError(session, Error.Code.OVERLOADED,
                "Server is overloaded; the message was not stored, send it again", clientId);
        }
    }

    /**
     * The checks of an end-to-end encrypted send that need no storage: no payload beside the
     * device payloads, well-formed device addresses, and the sum of the payloads within
     * router.max-payload-bytes. Which devices it must name is the writer's to check.
     */
    private boolean devicePayloadsValid(Session session, Send send, String clientId) {
        if (!send.getPayload().isEmpty()) {
            sendError(session, Error.Code.INVALID_ARGUMENT, "A send with device_payloads must have an empty payload;"
                + " it has " + send.getPayload().size() + " bytes", clientId);
            return false;
        }
        long total = 0;
        for (DevicePayload copy : send.getDevicePayloadsList()) {
            DeviceAddress address = copy.getDevice();
            if (!DeviceId.isValidId(address.getUser()) || !DeviceId.isValidId(address.getDevice())) {
                sendError(session, Error.Code.INVALID_ARGUMENT, "device_payloads names user "
                    + Frames.quote(address.getUser()) + " device " + Frames.quote(address.getDevice())
                    + "; both must be " + DeviceId.SYNTAX, clientId);
                return false;
            }
            total += copy.getPayload().size();
        }
        if (total > config.maxPayloadBytes()) {
            sendError(session, Error.Code.PAYLOAD_TOO_LARGE, "Device payloads of " + total + " bytes together are"
                + " above router.max-payload-bytes = " + config.maxPayloadBytes(), clientId);
            return false;
        }
        return true;
    }

    private void toWriter(Session session, WriterCommand command, Frame frame) {
        switch (writer.offer(command)) {
            case QUEUED -> {
            }
            case SHARE_FULL -> reply(session.connection(), Error.Code.OVERLOADED, shareFull(session) + "; send the "
                + bodyName(frame) + " again once earlier frames are answered", frame.getRequestId());
            case QUEUE_FULL -> reply(session.connection(), Error.Code.OVERLOADED, "Server is overloaded; send the "
                + bodyName(frame) + " again", frame.getRequestId());
        }
    }

    private String shareFull(Session session) {
        return "This connection has " + session.writerUnits() + " units of work waiting for storage, its share"
            + " (router.writer-share = " + writer.share() + ")";
    }

    /** An ack or read receipt may name at most router.max-ids-per-ack ids; a larger one is refused whole. */
    private boolean withinIdCap(Session session, Frame frame, int ids) {
        if (ids <= config.maxIdsPerAck()) {
            return true;
        }
        reply(session.connection(), Error.Code.INVALID_ARGUMENT, bodyName(frame) + " names " + ids
            + " server ids, above router.max-ids-per-ack = " + config.maxIdsPerAck() + "; nothing was taken: send them"
            + " again in frames of at most " + config.maxIdsPerAck(), frame.getRequestId());
        return false;
    }

    /**
     * Answers a frame the connection's rate limits refused, or closes a connection that went on
     * far beyond them. A heartbeat is not answered: it asked for nothing, and it still showed
     * that the client is alive.
     */
    private void rateLimited(Session session, Frame frame, long waitMs) {
        RateLimiter limiter = session.limiter();
        boolean bytes = limiter.bytesWereShort();
        metrics.rateLimited(bytes);
        String limit = bytes ? "router.bytes-per-second = " + config.bytesPerSecond() + " (burst "
            + config.byteBurst() + " bytes)" : "router.frames-per-second = " + config.framesPerSecond() + " (burst "
            + config.frameBurst() + " frames)";
        if (limiter.exhausted()) {
            metrics.rateLimitClosed();
            LOG.info("Closing {} of {}: {} frames refused above {} since it last kept within it", session,
                session.connection().remoteAddress(), limiter.refusedSinceFull(), limit);
            fatal(session.connection(), Error.Code.RATE_LIMITED, "Closed: " + limiter.refusedSinceFull()
                + " frames were refused for going above " + limit + " since this connection last kept within it",
                frame.getRequestId());
            return;
        }
        if (frame.getBodyCase() == Frame.BodyCase.HEARTBEAT) {
            return;
        }
        String clientId = "";
        String refused = "this " + bodyName(frame) + " was not taken";
        if (frame.getBodyCase() == Frame.BodyCase.SEND) {
            String id = frame.getSend().getClientMessageId();
            clientId = id.length() > MAX_CLIENT_MESSAGE_ID ? "" : id;
            refused = "the message was not stored";
        }
        session.connection().send(Frames.retryAfter(Error.Code.RATE_LIMITED, "Above " + limit + "; " + refused
            + ", send it again in " + waitMs + " ms", waitMs, frame.getRequestId(), clientId));
        metrics.error(Error.Code.RATE_LIMITED);
    }

    private void mediaSlot(Session session, Frame frame) {
        if (media == null) {
            reply(session.connection(), Error.Code.UNSUPPORTED,
                "Media slots need the media service, which this server does not run", frame.getRequestId());
            return;
        }
        Frame answer = media.slot(session.device().user(), frame.getMediaSlotRequest(), frame.getRequestId());
        if (answer.hasError()) {
            metrics.error(answer.getError().getCode());
        }
        session.connection().send(answer);
    }

    // ---------------------------------------------------------------- errors

    private void sendError(Session session, Error.Code code, String text, String clientMessageId) {
        session.connection().send(Frames.sendError(code, text, clientMessageId));
        metrics.error(code);
    }

    private void reply(Connection connection, Error.Code code, String text, long requestId) {
        connection.send(Frames.error(code, text, requestId));
        metrics.error(code);
    }

    /**
     * Closes the sessions of {@code user} whose credentials were issued before
     * {@code issuedBeforeMs}, or at an unknown time, with a fatal {@code AUTH_FAILED}: what a
     * revocation does to connections already open. Walks every session; revocations are rare.
     */
    @Override
    public int signOut(String user, long issuedBeforeMs, String text) {
        int[] closed = {0};
        sessions.forEach(session -> {
            if (session.device().user().equals(user) && session.credentialsIssuedAtMs() < issuedBeforeMs) {
                LOG.info("Closing {} on {}: its credentials were revoked", session.device(), session.connection());
                fatal(session.connection(), Error.Code.AUTH_FAILED, text, 0);
                closed[0]++;
            }
        });
        return closed[0];
    }

    private void fatal(Connection connection, Error.Code code, String text, long requestId) {
        connection.closeWithError(Frames.fatal(code, text, requestId));
        metrics.error(code);
    }

    private static String bodyName(Frame frame) {
        return frame.getBodyCase().name().toLowerCase(Locale.ROOT);
    }

    // ---------------------------------------------------------------- housekeeping

    /**
     * Closes sessions that missed too many heartbeats and connections that never said hello,
     * writes the last-seen times of users who went offline (and the checkpoint when it is due), and
     * sends the presence changes whose coalescing window has ended. The sweeper thread runs it;
     * public so tests with a fake clock can drive it: when it returns, those changes were sent.
     */
    public void sweep() {
        sweeper.sweep();
    }

    /**
     * The presence checkpoint: writes the last activity of every online user and of everyone who
     * left since the last write. The sweeper does this every {@code router.presence-flush-interval-ms}.
     */
    public void flushPresence(long now) {
        sweeper.flushPresence(now);
    }

    /**
     * Stops routing: refuses new hellos, commits what the writer has queued, finishes queued
     * storage reads, writes last-seen times. Call after the transports stopped accepting. Does not
     * close the storage backend.
     */
    @Override
    public void close() {
        closing = true;
        retention.close();
        writer.close();
        reader.close();
        presence.close();
        sweeper.close();
        ClusterLink link = cluster;
        if (link != null) {
            link.close();
        }
    }
}
