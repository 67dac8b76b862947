package io.courier.router.cluster;

import io.courier.storage.DeviceId;
import io.courier.storage.StoredMessage;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * What a router tells the other nodes of its cluster, and hears from them: the design's table of
 * which process serves which device, and the signals one process sends another's queue. The
 * store stays the truth (every node commits into one shared store, {@code router.shared-store});
 * a link only carries hints, so a lost signal costs latency, never a message: a session that
 * misses one gets the entry on its next signal, its next reconnect, or when the link tells the
 * router it {@link Listener#reconnected() reconnected}.
 *
 * <p>Calls come from the router's threads (I/O threads, the writer) and must not block: an
 * implementation sends asynchronously and drops, counts and logs what it cannot send. Its
 * {@link Listener} calls may come from any thread.
 */
public interface ClusterLink extends AutoCloseable {

    /** This node's id, unique in the cluster: what the directory says serves a device. */
    String nodeId();

    /** Starts carrying signals to {@code listener}; called once, before any other call. */
    void start(Listener listener);

    /**
     * A session of {@code device} opened on this node: the directory now names this node, and the
     * node that served it before is told to close its session ({@link Listener#replaced}).
     *
     * @param session the session's number on this node, unique on it.
     */
    void connected(DeviceId device, long session);

    /** That session closed: the directory forgets it, unless another session has taken its place. */
    void disconnected(DeviceId device, long session);

    /**
     * {@code entries} were committed into the inboxes of devices none of which has a session on
     * this node: the nodes that serve them are given the entries ({@link Listener#committed}), or
     * told to read those inboxes ({@link Listener#inboxChanged}), as the link sees fit (a large
     * entry is cheaper read from the store than carried).
     */
    void committed(List<Committed> entries);

    /**
     * An entry committed into {@code device}'s inbox; {@code after} is the highest id the inbox
     * held before it, when its batch took the inbox's lock ({@code Long.MAX_VALUE} when unknown).
     * A session that was sent {@code after} already may deliver the entry as it is; any other
     * reads its inbox.
     */
    record Committed(DeviceId device, StoredMessage message, long after) {
    }

    /**
     * Whether any of {@code devices} (one user's) has a session on another node now, as the
     * directory says. May block (one round trip); called from the router's presence thread.
     */
    boolean onlineElsewhere(List<DeviceId> devices);

    /**
     * {@code user}'s first device came online on this node, or its last went offline: every other
     * node is told, so that those watching the user there look again.
     *
     * @param lastSeenMs when the user went offline here (its last activity), or 0 when it came online.
     */
    void presenceChanged(String user, long lastSeenMs);

    /** Stops signalling and listening; the directory entries of this node expire. */
    @Override
    void close();

    /** What the router does with what other nodes say. */
    interface Listener {

        /** Entries were committed into {@code device}'s inbox: its session here reads it. */
        void inboxChanged(DeviceId device);

        /**
         * {@code message} was committed into {@code device}'s inbox after an entry numbered
         * {@code after}: its session here delivers it if it was sent {@code after} already, and
         * reads its inbox otherwise.
         */
        void committed(DeviceId device, StoredMessage message, long after);

        /**
         * {@code device} connected on another node: its session here, if it is still the one
         * numbered {@code session}, closes with SESSION_REPLACED.
         */
        void replaced(DeviceId device, long session);

        /**
         * The link lost its connection and has it back: signals may have been lost meanwhile, so
         * every session here reads its inbox.
         */
        void reconnected();

        /**
         * {@code user} came online or went offline on another node ({@code lastSeenMs} then says
         * when; 0 when it came online). The other node writes that time to the store later.
         */
        void presenceChanged(String user, long lastSeenMs);

        /** Each session open on this node, with its number: what the link keeps in the directory. */
        void forEachSession(BiConsumer<DeviceId, Long> action);
    }
}
