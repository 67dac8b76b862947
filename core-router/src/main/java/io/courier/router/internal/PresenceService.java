package io.courier.router.internal;

import io.courier.router.RouterConfig;
import io.courier.router.cluster.ClusterLink;
import io.courier.storage.DeviceDirectory;
import io.courier.storage.DeviceId;
import io.courier.storage.PresencePrivacy;
import io.courier.storage.PresenceStore;
import io.courier.transport.Frames;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Presence;
import io.courier.transport.proto.PresenceSubscribe;
import io.courier.transport.proto.PrivacySettings;
import io.courier.transport.proto.PrivacyUpdate;
import io.courier.transport.proto.Visibility;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Presence as users see it: queries, privacy settings and subscriptions, under the mutual rule
 * (A sees B's presence iff B's visibility admits A and A's visibility admits B; a user always sees
 * their own). What A may not see is "unknown": online false, last seen 0, the same Presence as for
 * a user the server has never seen.
 *
 * <p>Everything here runs on one thread of its own ({@code courier-presence}), so subscriptions,
 * the privacy cache and coalescing need no locks, and the storage calls they make never hold up an
 * I/O thread. The I/O threads check frames and post them; the session table posts the users whose
 * first device came online or last went offline; the sweeper ends coalescing windows. Client
 * requests waiting here are bounded ({@value #MAX_QUEUED_REQUESTS}; beyond that OVERLOADED);
 * online changes and closes are bounded by the connections that cause them.
 *
 * <p>Subscriptions live in memory per session and end with it. Privacy settings are cached only
 * for users a live subscription involves (as subscriber or watched), reference-counted, and kept
 * current by every update; anything else is read from the store when asked.
 *
 * <p>Coalescing, per subscriber and watched user: a change in what the subscriber may see (the
 * user's online status, or whether it is visible at all) is announced at once unless one was
 * announced within {@code router.presence-coalesce-ms}; then it is held to that window's end and
 * announced with the state at that time, or not at all if it changed back. The answers to the
 * subscription itself open no window.
 */
public final class PresenceService implements AutoCloseable {

    /** Client requests (queries, updates, subscriptions) that may wait for the presence thread. */
    public static final int MAX_QUEUED_REQUESTS = 4_096;
    private static final Logger LOG = LoggerFactory.getLogger(PresenceService.class);
    private static final long NEVER = Long.MIN_VALUE / 2;

    private final RouterConfig config;
    private final SessionTable sessions;
    private final Sweeper sweeper;
    private final PresenceStore store;
    private final RouterMetrics metrics;
    private final Clock clock;
    private final ExecutorService thread;
    private final AtomicInteger queuedRequests = new AtomicInteger();

    // Presence thread only.
    private final Map<String, Cached> privacy = new HashMap<>();
    private final Map<Session, Subscription> subscriptions = new HashMap<>();
    private final Map<String, List<Subscription>> subscriptionsByUser = new HashMap<>();
    private final Map<String, Set<Watch>> watchers = new HashMap<>();
    private final Set<Watch> held = new LinkedHashSet<>();

    public PresenceService(RouterConfig config, SessionTable sessions, Sweeper sweeper, PresenceStore store,
                           RouterMetrics metrics, Clock clock) {
        this.config = config;
        this.sessions = sessions;
        this.sweeper = sweeper;
        this.store = store;
        this.metrics = metrics;
        this.clock = clock;
        this.thread = Executors.newSingleThreadExecutor(runnable -> {
            Thread t = new Thread(runnable, "courier-presence");
            t.setDaemon(true);
            return t;
        });
        sessions.onOnlineChanged(this::onlineChanged);
    }

    private volatile ClusterLink cluster;
    private volatile DeviceDirectory devices;
    // Last-seen times other nodes sent with their users' going offline, not yet in the store.
    private static final int REMOTE_LAST_SEEN_LIMIT = 100_000;
    private final Map<String, Long> remoteLastSeen = new java.util.concurrent.ConcurrentHashMap<>();

    // ---------------------------------------------------------------- frames (I/O threads)

    /** A PresenceQuery: online now, the last-seen time, or unknown. */
    public void query(Session session, Frame frame) {
        String user = frame.getPresenceQuery().getUser();
        if (!DeviceId.isValidId(user)) {
            invalid(session, "Presence query for malformed user " + Frames.quote(user), frame);
            return;
        }
        request(session, frame, () -> {
            String asker = session.device().user();
            boolean visible = sees(asker, user, privacyOf(asker), privacyOf(user));
            session.connection().send(presenceFrame(frame.getRequestId(), user, visible, clock.millis()));
        });
    }

    /** A PrivacyUpdate: stored before it is answered with PrivacySettings; re-evaluates subscriptions. */
    public void update(Session session, Frame frame) {
        PrivacyUpdate update = frame.getPrivacyUpdate();
        if (update.getVisibility() == Visibility.UNRECOGNIZED) {
            invalid(session, "Privacy update with unknown visibility " + update.getVisibilityValue()
                + "; use EVERYONE, CONTACTS or NOBODY (or leave it unset to keep the current one)", frame);
            return;
        }
        int ids = update.getAddContactsCount() + update.getRemoveContactsCount();
        if (ids > config.maxIdsPerAck()) {
            invalid(session, "Privacy update names " + ids + " users, above router.max-ids-per-ack = "
                + config.maxIdsPerAck() + "; nothing was changed: send them in frames of at most "
                + config.maxIdsPerAck(), frame);
            return;
        }
        String bad = firstMalformed(update.getAddContactsList());
        if (bad == null && !update.getReplaceContacts()) {
            bad = firstMalformed(update.getRemoveContactsList());
        }
        if (bad != null) {
            invalid(session, "Privacy update names malformed user " + Frames.quote(bad) + " (" + DeviceId.SYNTAX
                + "); nothing was changed", frame);
            return;
        }
        request(session, frame, () -> applyUpdate(session, frame, update));
    }

    /** A PresenceSubscribe: replaces the session's subscription, answered with one Presence per watched user. */
    public void subscribe(Session session, Frame frame) {
        PresenceSubscribe subscribe = frame.getPresenceSubscribe();
        if (subscribe.getUsersCount() > config.maxPresenceWatch()) {
            invalid(session, "Presence subscription names " + subscribe.getUsersCount()
                + " users, above router.max-presence-watch = " + config.maxPresenceWatch()
                + "; the previous subscription stays as it was", frame);
            return;
        }
        String bad = firstMalformed(subscribe.getUsersList());
        if (bad != null) {
            invalid(session, "Presence subscription names malformed user " + Frames.quote(bad) + " ("
                + DeviceId.SYNTAX + "); the previous subscription stays as it was", frame);
            return;
        }
        request(session, frame, () -> applySubscribe(session, frame, subscribe));
    }

    /** {@code session} closed: its subscription ends. Any thread. */
    public void closed(Session session) {
        event(() -> unsubscribe(session));
    }

    /**
     * Makes presence cluster-wide: a user is online when a device of theirs has a session here or
     * on another node, and this node's changes are told to the others. Call before any session.
     */
    public void cluster(ClusterLink link, DeviceDirectory devices) {
        this.cluster = link;
        this.devices = devices;
    }

    /** Online here, or (in a cluster) on another node; presence thread only. */
    private boolean isOnline(String user) {
        if (sessions.isOnline(user)) {
            return true;
        }
        ClusterLink link = cluster;
        return link != null && link.onlineElsewhere(devices.devices(user));
    }

    /**
     * {@code user} came online or went offline on another node: its watchers here look again, and
     * until that node has written it, the last-seen time it sent stands in for the store's.
     */
    public void remoteChanged(String user, long lastSeenMs) {
        if (lastSeenMs > 0) {
            if (remoteLastSeen.size() >= REMOTE_LAST_SEEN_LIMIT) {
                remoteLastSeen.clear(); // only a stand-in: the store has them all soon after
            }
            remoteLastSeen.merge(user, lastSeenMs, Math::max);
        }
        reconsiderWatchers(user);
    }

    private void onlineChanged(String user) {
        ClusterLink link = cluster;
        if (link != null) {
            // Called once the table's count has changed, and the sweeper noted the time before the
            // session left it: offline, the last-seen time is there to send.
            link.presenceChanged(user, sessions.isOnline(user) ? 0 : sweeper.unwrittenLastSeen(user));
        }
        reconsiderWatchers(user);
    }

    private void reconsiderWatchers(String user) {
        event(() -> {
            Set<Watch> watching = watchers.get(user);
            if (watching != null) {
                long now = clock.millis();
                for (Watch watch : new ArrayList<>(watching)) {
                    reconsider(watch, now);
                }
            }
        });
    }

    /**
     * Announces the held changes whose coalescing window has ended by {@code now}. Blocks until
     * done, so a test that moves the clock and sweeps finds them sent.
     */
    public void sweep(long now) {
        try {
            thread.submit(() -> endWindows(now)).get(10, TimeUnit.SECONDS);
        } catch (RejectedExecutionException e) {
            // Shutting down: subscriptions end with the sessions.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            LOG.error("Announcing coalesced presence changes failed; the next sweep tries again", e.getCause());
        } catch (TimeoutException e) {
            LOG.warn("Announcing coalesced presence changes took over 10 s; the presence thread is behind storage");
        }
    }

    // ---------------------------------------------------------------- presence thread

    private void applyUpdate(Session session, Frame frame, PrivacyUpdate update) {
        String user = session.device().user();
        PresencePrivacy before = privacyOf(user);
        PresencePrivacy.Visibility visibility = switch (update.getVisibility()) {
            case VISIBILITY_EVERYONE -> PresencePrivacy.Visibility.EVERYONE;
            case VISIBILITY_CONTACTS -> PresencePrivacy.Visibility.CONTACTS;
            case VISIBILITY_NOBODY -> PresencePrivacy.Visibility.NOBODY;
            default -> before.visibility();
        };
        Set<String> contacts = new TreeSet<>(update.getAddContactsList());
        if (!update.getReplaceContacts()) {
            contacts.addAll(before.contacts());
            update.getRemoveContactsList().forEach(contacts::remove);
        }
        if (contacts.size() > config.maxContacts()) {
            invalid(session, "Privacy update would make the contact list " + contacts.size()
                + " users long, above router.max-contacts = " + config.maxContacts() + "; nothing was changed", frame);
            return;
        }
        PresencePrivacy after = new PresencePrivacy(visibility, List.copyOf(contacts));
        if (!after.equals(before)) {
            store.savePrivacy(user, after);
            Cached cached = privacy.get(user);
            if (cached != null) {
                cached.privacy = after;
            }
        }
        session.connection().send(Frame.newBuilder().setRequestId(frame.getRequestId())
            .setPrivacySettings(PrivacySettings.newBuilder().setVisibility(wire(after.visibility()))
                .addAllContacts(after.contacts())).build());
        if (!after.equals(before)) {
            privacyChanged(user, before, after);
        }
    }

    /** What {@code user} may see, and who may see {@code user}, changed: re-evaluate every watch it touches. */
    private void privacyChanged(String user, PresencePrivacy before, PresencePrivacy after) {
        long now = clock.millis();
        for (Subscription subscription : List.copyOf(subscriptionsByUser.getOrDefault(user, List.of()))) {
            if (subscription.contacts && !before.contacts().equals(after.contacts())) {
                followContacts(subscription, after, now);
            }
            for (Watch watch : List.copyOf(subscription.watches.values())) {
                reconsider(watch, now);
            }
        }
        for (Watch watch : List.copyOf(watchers.getOrDefault(user, Set.of()))) {
            reconsider(watch, now);
        }
    }

    /** A contacts subscription follows its user's list: new contacts are watched (and told at once), removed ones not. */
    private void followContacts(Subscription subscription, PresencePrivacy privacy, long now) {
        Set<String> targets = targets(subscription.explicit, subscription.contacts, privacy);
        Map<String, PresencePrivacy> loaded = load(targets);
        for (Watch watch : List.copyOf(subscription.watches.values())) {
            if (!targets.contains(watch.user)) {
                unwatch(watch);
            }
        }
        for (String target : targets) {
            if (!subscription.watches.containsKey(target)) {
                announce(watch(subscription, target, loaded), now, 0, false);
            }
        }
    }

    private void applySubscribe(Session session, Frame frame, PresenceSubscribe subscribe) {
        String user = session.device().user();
        Set<String> explicit = new LinkedHashSet<>(subscribe.getUsersList());
        PresencePrivacy own = privacyOf(user);
        Set<String> targets = targets(explicit, subscribe.getContacts(), own);
        Map<String, PresencePrivacy> loaded = load(targets);
        loaded.putIfAbsent(user, own);
        // Everything read: from here nothing fails halfway.
        unsubscribe(session);
        if (!session.connection().isOpen() || targets.isEmpty() && !subscribe.getContacts()) {
            return;
        }
        Subscription subscription = new Subscription(session, user, explicit, subscribe.getContacts());
        retain(user, loaded);
        subscriptions.put(session, subscription);
        subscriptionsByUser.computeIfAbsent(user, u -> new ArrayList<>()).add(subscription);
        long now = clock.millis();
        for (String target : targets) {
            announce(watch(subscription, target, loaded), now, frame.getRequestId(), false);
        }
    }

    private static Set<String> targets(Set<String> explicit, boolean contacts, PresencePrivacy privacy) {
        Set<String> targets = new LinkedHashSet<>(explicit);
        if (contacts) {
            targets.addAll(privacy.contacts());
        }
        return targets;
    }

    /** The settings of {@code users}: cached, or read from the store (so this is what may fail). */
    private Map<String, PresencePrivacy> load(Set<String> users) {
        Map<String, PresencePrivacy> loaded = new HashMap<>();
        for (String user : users) {
            loaded.put(user, privacyOf(user));
        }
        return loaded;
    }

    private Watch watch(Subscription subscription, String target, Map<String, PresencePrivacy> loaded) {
        retain(target, loaded);
        Watch watch = new Watch(subscription, target);
        subscription.watches.put(target, watch);
        watchers.computeIfAbsent(target, u -> new HashSet<>()).add(watch);
        return watch;
    }

    private void unwatch(Watch watch) {
        watch.subscription.watches.remove(watch.user);
        Set<Watch> watching = watchers.get(watch.user);
        if (watching != null && watching.remove(watch) && watching.isEmpty()) {
            watchers.remove(watch.user);
        }
        held.remove(watch);
        release(watch.user);
    }

    private void unsubscribe(Session session) {
        Subscription subscription = subscriptions.remove(session);
        if (subscription == null) {
            return;
        }
        for (Watch watch : List.copyOf(subscription.watches.values())) {
            unwatch(watch);
        }
        List<Subscription> ofUser = subscriptionsByUser.get(subscription.user);
        if (ofUser != null && ofUser.remove(subscription) && ofUser.isEmpty()) {
            subscriptionsByUser.remove(subscription.user);
        }
        release(subscription.user);
    }

    private void retain(String user, Map<String, PresencePrivacy> loaded) {
        privacy.computeIfAbsent(user, u -> new Cached(loaded.containsKey(u) ? loaded.get(u) : store.privacy(u))).refs++;
    }

    private void release(String user) {
        Cached cached = privacy.get(user);
        if (cached != null && --cached.refs == 0) {
            privacy.remove(user);
        }
    }

    private PresencePrivacy privacyOf(String user) {
        Cached cached = privacy.get(user);
        return cached != null ? cached.privacy : store.privacy(user);
    }

    /** Announces the watch's change now, holds it to its window's end, or drops it if nothing changed. */
    private void reconsider(Watch watch, long now) {
        boolean visible = visible(watch);
        boolean online = visible && isOnline(watch.user);
        if (visible == watch.visible && online == watch.online) {
            held.remove(watch);
            return;
        }
        if (now - watch.announcedAtMs >= config.presenceCoalesceMs()) {
            announce(watch, now, 0, true);
        } else {
            held.add(watch);
        }
    }

    private void endWindows(long now) {
        List<Watch> due = new ArrayList<>();
        for (Watch watch : held) {
            if (now - watch.announcedAtMs >= config.presenceCoalesceMs()) {
                due.add(watch);
            }
        }
        for (Watch watch : due) {
            held.remove(watch);
            reconsider(watch, now);
        }
    }

    /**
     * Sends the watch's current state. A change (request id 0) opens a coalescing window; an
     * answer to a subscription does not.
     */
    private void announce(Watch watch, long now, long requestId, boolean change) {
        boolean visible = visible(watch);
        Frame frame = presenceFrame(requestId, watch.user, visible, now);
        watch.visible = visible;
        watch.online = frame.getPresence().getOnline();
        if (change) {
            watch.announcedAtMs = now;
            metrics.presenceAnnounced();
        }
        held.remove(watch);
        watch.subscription.session.connection().send(frame);
    }

    private boolean visible(Watch watch) {
        return sees(watch.subscription.user, watch.user, privacy.get(watch.subscription.user).privacy,
            privacy.get(watch.user).privacy);
    }

    private static boolean sees(String asker, String user, PresencePrivacy askers, PresencePrivacy users) {
        return asker.equals(user) || users.admits(asker) && askers.admits(user);
    }

    /** What {@code user}'s presence looks like to someone who may ({@code visible}) or may not see it. */
    private Frame presenceFrame(long requestId, String user, boolean visible, long now) {
        Presence.Builder presence = Presence.newBuilder().setUser(user);
        if (visible) {
            if (isOnline(user)) {
                presence.setOnline(true).setLastSeenMs(now);
            } else {
                presence.setLastSeenMs(Math.max(Math.max(sweeper.unwrittenLastSeen(user),
                    remoteLastSeen.getOrDefault(user, 0L)), store.lastSeen(user).orElse(0)));
            }
        }
        return Frame.newBuilder().setRequestId(requestId).setPresence(presence).build();
    }

    private static Visibility wire(PresencePrivacy.Visibility visibility) {
        return switch (visibility) {
            case EVERYONE -> Visibility.VISIBILITY_EVERYONE;
            case CONTACTS -> Visibility.VISIBILITY_CONTACTS;
            case NOBODY -> Visibility.VISIBILITY_NOBODY;
        };
    }

    // ---------------------------------------------------------------- plumbing

    private void request(Session session, Frame frame, Runnable task) {
        if (queuedRequests.incrementAndGet() > MAX_QUEUED_REQUESTS) {
            queuedRequests.decrementAndGet();
            reply(session, Error.Code.OVERLOADED, "Server is overloaded (" + MAX_QUEUED_REQUESTS
                + " presence requests waiting); nothing was changed, send it again shortly", frame);
            return;
        }
        try {
            thread.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.error("{} from {} failed", frame.getBodyCase(), session.device(), e);
                    reply(session, Error.Code.INTERNAL, "Storage failed; try again", frame);
                } finally {
                    queuedRequests.decrementAndGet();
                }
            });
        } catch (RejectedExecutionException e) {
            queuedRequests.decrementAndGet();
            reply(session, Error.Code.SHUTTING_DOWN, "Server is shutting down", frame);
        }
    }

    private void event(Runnable task) {
        try {
            thread.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.error("Updating presence subscriptions failed", e);
                }
            });
        } catch (RejectedExecutionException e) {
            // Shutting down: every session and its subscription is going.
        }
    }

    private static String firstMalformed(List<String> users) {
        for (String user : users) {
            if (!DeviceId.isValidId(user)) {
                return user;
            }
        }
        return null;
    }

    private void invalid(Session session, String text, Frame frame) {
        reply(session, Error.Code.INVALID_ARGUMENT, text, frame);
    }

    private void reply(Session session, Error.Code code, String text, Frame frame) {
        session.connection().send(Frames.error(code, text, frame.getRequestId()));
        metrics.error(code);
    }

    /** Finishes what is queued (up to 10 s), then stops. */
    @Override
    public void close() {
        thread.shutdown();
        try {
            if (!thread.awaitTermination(10, TimeUnit.SECONDS)) {
                thread.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static final class Cached {
        PresencePrivacy privacy;
        int refs;

        Cached(PresencePrivacy privacy) {
            this.privacy = privacy;
        }
    }

    private static final class Subscription {
        final Session session;
        final String user;
        final Set<String> explicit;
        final boolean contacts;
        final Map<String, Watch> watches = new HashMap<>();

        Subscription(Session session, String user, Set<String> explicit, boolean contacts) {
            this.session = session;
            this.user = user;
            this.explicit = explicit;
            this.contacts = contacts;
        }
    }

    /** One watched user of one subscription, and what that subscriber was last told of them. */
    private static final class Watch {
        final Subscription subscription;
        final String user;
        boolean visible;
        boolean online;
        long announcedAtMs = NEVER;

        Watch(Subscription subscription, String user) {
            this.subscription = subscription;
            this.user = user;
        }
    }
}
