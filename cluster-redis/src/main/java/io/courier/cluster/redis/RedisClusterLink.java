package io.courier.cluster.redis;

import io.courier.router.cluster.ClusterLink;
import io.courier.router.cluster.ClusterLink.Committed;
import io.courier.storage.DeviceId;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link ClusterLink} on Redis (7.0 or later), through Lettuce: the session directory is one
 * string key per connected device, and the signals are sharded pub/sub messages on one channel
 * per node.
 *
 * <ul>
 *   <li>Directory: {@code courier:dev:USER/DEVICE} holds {@code NODE SESSION} with an expiry of
 *       {@code ttl}. A hello writes it with {@code SET … PX ttl GET}: the previous value names the
 *       node whose session it replaces, which is told so. Every {@code ttl / 3} each node renews
 *       its own entries (a script that renews an entry only if it is still this session's, and
 *       writes it again if it is gone, as after a Redis restart), so a dead node's entries vanish
 *       within {@code ttl}. A session's close deletes its entry with the same compare-and-delete.</li>
 *   <li>Signals: {@code SPUBLISH courier:node:NODE} of {@code e BASE64} (entries committed for
 *       your devices, each with the id its inbox held before it: {@link EntrySignal}),
 *       {@code w USER/DEVICE …} (read your inbox: entries too large to carry)
 *       or {@code r USER/DEVICE SESSION} (close that session: the device connected here); and,
 *       to every node, {@code PUBLISH courier:presence} of {@code NODE USER LAST_SEEN_MS} when a
 *       user's first device comes online on a node (0) or its last goes offline. After
 *       each commit the writer hands over the entries it committed for devices with no session on
 *       this node; one {@code MGET} finds their nodes, and each node gets one entry signal (and a
 *       wake, if some were too large) for the batch.</li>
 * </ul>
 *
 * <p>Nothing here waits for Redis on the caller's thread: commands are asynchronous, and while
 * Redis is away they fail at once (Lettuce's REJECT_COMMANDS) rather than queue, counted in
 * {@code courier.cluster.signals.failed}. When the connection is back, every session here reads
 * its inbox (a signal may have been lost) and the directory entries are written again.
 */
public final class RedisClusterLink implements ClusterLink {

    private static final Logger LOG = LoggerFactory.getLogger(RedisClusterLink.class);
    static final String DEVICE_PREFIX = "courier:dev:";
    static final String NODE_PREFIX = "courier:node:";
    // Every node hears every other's presence changes: "NODE USER".
    static final String PRESENCE = "courier:presence";
    // KEYS[1] the entry, ARGV[1] this session's value, ARGV[2] the expiry in ms.
    private static final String RENEW = "local v = redis.call('GET', KEYS[1]) "
        + "if v == false or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end return 0";
    private static final String FORGET = "if redis.call('GET', KEYS[1]) == ARGV[1] then "
        + "return redis.call('DEL', KEYS[1]) end return 0";

    private final String nodeId;
    private final String channel;
    private final long ttlMs;
    private final RedisClient client;
    private final StatefulRedisConnection<String, String> commands;
    private final StatefulRedisPubSubConnection<String, String> pubSub;
    private final ScheduledExecutorService renewer;
    private final AtomicInteger local = new AtomicInteger();
    private final AtomicBoolean connected = new AtomicBoolean(true);
    private final AtomicBoolean open = new AtomicBoolean(true);
    // The connections (commands, pub/sub) that are down now: back when none is.
    private final java.util.Set<RedisChannelHandler<?, ?>> down = java.util.concurrent.ConcurrentHashMap.newKeySet();
    // Entries up to this many bytes (about) for one node travel in a signal; the rest are read from the store.
    static final int CARRY_LIMIT = 64 * 1024;

    private final Counter entriesSent;
    private final Counter entriesReceived;
    private final Counter wakesSent;
    private final Counter replacesSent;
    private final Counter wakesReceived;
    private final Counter replacesReceived;
    private final Counter presenceSent;
    private final Counter presenceReceived;
    private final Counter failed;
    private final Counter reconnects;
    private volatile Listener listener;

    /**
     * Connects to Redis at {@code uri} (a {@code redis://} URI) as node {@code nodeId}.
     *
     * @param ttlMs how long a directory entry lives unless its node renews it.
     * @throws IllegalArgumentException when the node id is not 1-64 of {@code [A-Za-z0-9._-]}.
     * @throws io.lettuce.core.RedisConnectionException when Redis cannot be reached now.
     */
    public RedisClusterLink(String uri, String nodeId, long ttlMs, MeterRegistry registry) {
        if (!DeviceId.isValidId(nodeId)) {
            throw new IllegalArgumentException("cluster.node-id must be " + DeviceId.SYNTAX + ", was '" + nodeId + "'");
        }
        if (ttlMs < 3) {
            throw new IllegalArgumentException("cluster.directory-ttl-ms must be at least 3, was " + ttlMs);
        }
        this.nodeId = nodeId;
        this.channel = NODE_PREFIX + nodeId;
        this.ttlMs = ttlMs;
        RedisURI address = RedisURI.create(uri);
        address.setTimeout(Duration.ofSeconds(5));
        this.client = RedisClient.create(address);
        client.setOptions(ClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .build());
        this.commands = client.connect();
        this.pubSub = client.connectPubSub();
        this.entriesSent = counter(registry, "courier.cluster.signals.sent", "entry", "Signals sent to other nodes");
        this.entriesReceived = counter(registry, "courier.cluster.signals.received", "entry",
            "Signals received from other nodes");
        this.wakesSent = counter(registry, "courier.cluster.signals.sent", "wake", "Signals sent to other nodes");
        this.replacesSent = counter(registry, "courier.cluster.signals.sent", "replace", "Signals sent to other nodes");
        this.wakesReceived = counter(registry, "courier.cluster.signals.received", "wake",
            "Signals received from other nodes");
        this.replacesReceived = counter(registry, "courier.cluster.signals.received", "replace",
            "Signals received from other nodes");
        this.presenceSent = counter(registry, "courier.cluster.signals.sent", "presence", "Signals sent to other nodes");
        this.presenceReceived = counter(registry, "courier.cluster.signals.received", "presence",
            "Signals received from other nodes");
        this.failed = Counter.builder("courier.cluster.signals.failed")
            .description("Directory writes and signals Redis did not take (its connection was down or it failed)")
            .register(registry);
        this.reconnects = Counter.builder("courier.cluster.reconnects")
            .description("Times the connection to Redis came back after it was lost").register(registry);
        Gauge.builder("courier.cluster.directory.entries", local, AtomicInteger::get)
            .description("Devices this node holds in the cluster's directory (its sessions)").register(registry);
        Gauge.builder("courier.cluster.redis.connected", connected, c -> c.get() ? 1 : 0)
            .description("1 while the connection to Redis is up").register(registry);
        this.renewer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "courier-cluster-renew");
            t.setDaemon(true);
            return t;
        });
    }

    private static Counter counter(MeterRegistry registry, String name, String kind, String description) {
        return Counter.builder(name).tag("kind", kind).description(description).register(registry);
    }

    @Override
    public String nodeId() {
        return nodeId;
    }

    /** Whether the connections to Redis are up now. */
    public boolean isConnected() {
        return connected.get();
    }

    @Override
    public void start(Listener listener) {
        this.listener = listener;
        pubSub.addListener(new RedisPubSubAdapter<>() {
            @Override
            public void smessage(String shardChannel, String message) {
                received(message);
            }

            @Override
            public void message(String broadcast, String message) {
                String[] parts = message.split(" ");
                if (parts.length != 3 || parts[0].equals(nodeId)) {
                    return; // this node's own change, or not a presence signal
                }
                try {
                    long lastSeen = Long.parseLong(parts[2]);
                    presenceReceived.increment();
                    listener.presenceChanged(parts[1], lastSeen);
                } catch (NumberFormatException e) {
                    LOG.warn("Ignoring a malformed presence signal: '{}'", message);
                }
            }
        });
        pubSub.sync().ssubscribe(channel);
        pubSub.sync().subscribe(PRESENCE);
        client.addListener(new RedisConnectionStateListener() {
            @Override
            public void onRedisDisconnected(RedisChannelHandler<?, ?> connection) {
                if (down.add(connection) && connected.compareAndSet(true, false)) {
                    LOG.warn("Lost the connection to Redis; signals to and from other nodes wait until it is back");
                }
            }

            @Override
            public void onRedisConnected(RedisChannelHandler<?, ?> connection, SocketAddress address) {
                if (down.remove(connection) && down.isEmpty() && connected.compareAndSet(false, true)) {
                    reconnects.increment();
                    LOG.info("Connection to Redis at {} is back: sessions read their inboxes, the directory is renewed",
                        address);
                    renewer.execute(RedisClusterLink.this::recover);
                }
            }
        });
        long period = Math.max(1, ttlMs / 3);
        renewer.scheduleAtFixedRate(() -> safely("renew the directory", this::renewAll), period, period,
            TimeUnit.MILLISECONDS);
    }

    /**
     * After Redis came back: subscribe again (what was published meanwhile is lost, and a Redis
     * that restarted has forgotten the subscription), write the directory entries again (it may
     * have forgotten those too), then have every session here read its inbox.
     */
    private void recover() {
        try {
            pubSub.async().ssubscribe(channel).get(10, TimeUnit.SECONDS);
            pubSub.async().subscribe(PRESENCE).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            failed.increment();
            LOG.warn("Subscribing to {} again failed ({}); the next reconnect tries again", channel, e.toString());
        }
        // The entries first: a commit whose signal missed them is then seen by the reads below.
        for (io.lettuce.core.RedisFuture<Long> renewal : renewAll()) {
            try {
                renewal.get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                failed.increment();
            }
        }
        listener.reconnected();
    }

    @Override
    public boolean onlineElsewhere(List<DeviceId> devices) {
        if (devices.isEmpty() || !connected.get()) {
            return false;
        }
        try {
            for (KeyValue<String, String> entry : async().mget(devices.stream().map(RedisClusterLink::key)
                .toArray(String[]::new)).get(5, TimeUnit.SECONDS)) {
                if (entry.hasValue() && !entry.getValue().startsWith(nodeId + ' ')) {
                    return true;
                }
            }
            return false;
        } catch (Exception e) {
            failed.increment();
            return false; // unknown counts as offline: presence is a hint, never a message
        }
    }

    @Override
    public void presenceChanged(String user, long lastSeenMs) {
        safely("signal a presence change", () -> announce(user, lastSeenMs));
    }

    private void announce(String user, long lastSeenMs) {
        async().publish(PRESENCE, nodeId + ' ' + user + ' ' + lastSeenMs).whenComplete((receivers, error) -> {
            if (error != null) {
                failed.increment();
            } else {
                presenceSent.increment();
            }
        });
    }

    private void received(String message) {
        Listener target = listener;
        try {
            String[] parts = message.startsWith(EntrySignal.PREFIX) ? null : message.split(" ");
            if (message.startsWith(EntrySignal.PREFIX)) {
                for (Committed entry : EntrySignal.parse(message.substring(EntrySignal.PREFIX.length()))) {
                    entriesReceived.increment();
                    target.committed(entry.device(), entry.message(), entry.after());
                }
            } else if (parts[0].equals("w")) {
                for (int i = 1; i < parts.length; i++) {
                    wakesReceived.increment();
                    target.inboxChanged(device(parts[i]));
                }
            } else if (parts[0].equals("r") && parts.length == 3) {
                replacesReceived.increment();
                target.replaced(device(parts[1]), Long.parseLong(parts[2]));
            } else {
                LOG.warn("Ignoring a signal this node does not understand on {}: '{}'", channel, message);
            }
        } catch (RuntimeException e) {
            LOG.warn("Ignoring a malformed signal on {}: '{}'", channel,
                message.length() > 200 ? message.substring(0, 200) + "…" : message, e);
        }
    }

    private static DeviceId device(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("not USER/DEVICE: " + text);
        }
        return new DeviceId(text.substring(0, slash), text.substring(slash + 1));
    }

    static String key(DeviceId device) {
        return DEVICE_PREFIX + device.user() + '/' + device.device();
    }

    private String value(long session) {
        return nodeId + ' ' + session;
    }

    @Override
    public void connected(DeviceId device, long session) {
        local.incrementAndGet();
        safely("write a directory entry", () -> connect(device, session));
    }

    private void connect(DeviceId device, long session) {
        async().setGet(key(device), value(session), SetArgs.Builder.px(ttlMs)).whenComplete((previous, error) -> {
            if (error != null) {
                failed.increment();
                return;
            }
            if (previous == null) {
                return;
            }
            int space = previous.indexOf(' ');
            String node = space < 0 ? previous : previous.substring(0, space);
            if (space > 0 && !node.equals(nodeId)) {
                // The session that node holds, if still open, is older than this one: close it.
                publish(node, "r " + device.user() + '/' + device.device() + ' ' + previous.substring(space + 1),
                    replacesSent);
            }
        });
    }

    @Override
    public void disconnected(DeviceId device, long session) {
        local.decrementAndGet();
        safely("forget a directory entry", () -> forget(device, session));
    }

    private void forget(DeviceId device, long session) {
        async().eval(FORGET, ScriptOutputType.INTEGER, new String[] {key(device)}, value(session))
            .whenComplete((removed, error) -> {
                if (error != null) {
                    failed.increment();
                }
            });
    }

    @Override
    public void committed(List<Committed> entries) {
        if (!entries.isEmpty()) {
            safely("signal other nodes", () -> signal(entries));
        }
    }

    /**
     * One {@code MGET} finds the nodes of the entries' devices; each node gets one entry signal
     * with the entries up to {@link #CARRY_LIMIT} bytes and one wake naming the devices of the
     * rest, which it reads from the store.
     */
    private void signal(List<Committed> entries) {
        List<DeviceId> asked = entries.stream().map(Committed::device).distinct().toList();
        String[] keys = asked.stream().map(RedisClusterLink::key).toArray(String[]::new);
        async().mget(keys).whenComplete((values, error) -> {
            if (error != null) {
                failed.increment();
                return;
            }
            Map<DeviceId, String> nodes = new HashMap<>();
            for (int i = 0; i < values.size(); i++) {
                KeyValue<String, String> entry = values.get(i);
                if (!entry.hasValue()) {
                    continue; // offline: the entry waits in the inbox for its next connection
                }
                String value = entry.getValue();
                int space = value.indexOf(' ');
                String node = space < 0 ? value : value.substring(0, space);
                if (!node.equals(nodeId)) { // ours: the session has just closed
                    nodes.put(asked.get(i), node);
                }
            }
            Map<String, EntrySignal> carried = new LinkedHashMap<>();
            Map<String, Set<DeviceId>> woken = new LinkedHashMap<>();
            Map<String, Integer> sizes = new HashMap<>();
            for (Committed entry : entries) {
                String node = nodes.get(entry.device());
                if (node == null) {
                    continue;
                }
                int size = sizes.merge(node, EntrySignal.size(entry), Integer::sum);
                Set<DeviceId> wake = woken.get(node);
                if (size <= CARRY_LIMIT && (wake == null || !wake.contains(entry.device()))) {
                    carried.computeIfAbsent(node, n -> new EntrySignal()).add(entry);
                } else {
                    woken.computeIfAbsent(node, n -> new LinkedHashSet<>()).add(entry.device());
                }
            }
            carried.forEach((node, signal) -> {
                publish(node, signal.text(), null);
                entriesSent.increment(signal.count());
            });
            woken.forEach((node, devices) -> {
                StringBuilder message = new StringBuilder("w");
                devices.forEach(d -> message.append(' ').append(d.user()).append('/').append(d.device()));
                publish(node, message.toString(), null);
                wakesSent.increment(devices.size());
            });
        });
    }

    private void publish(String node, String message, Counter sent) {
        async().spublish(NODE_PREFIX + node, message).whenComplete((receivers, error) -> {
            if (error != null) {
                failed.increment();
            } else if (sent != null) {
                sent.increment();
            }
        });
    }

    /** Writes again every entry of this node's sessions, keeping each only where it is still ours. */
    private List<io.lettuce.core.RedisFuture<Long>> renewAll() {
        Listener target = listener;
        if (target == null || !connected.get()) {
            return List.of();
        }
        String ttl = Long.toString(ttlMs);
        List<io.lettuce.core.RedisFuture<Long>> sent = new ArrayList<>();
        try {
            target.forEachSession((device, session) -> sent.add(async().eval(RENEW, ScriptOutputType.INTEGER,
                new String[] {key(device)}, value(session), ttl)));
        } catch (RuntimeException e) {
            failed.increment();
            LOG.warn("Renewing the directory failed: {}", e.toString());
        }
        for (io.lettuce.core.RedisFuture<Long> future : sent) {
            future.whenComplete((renewed, error) -> {
                if (error != null) {
                    failed.increment();
                }
            });
        }
        return sent;
    }

    /**
     * Runs {@code step}, counting and logging what it throws instead of passing it on: the
     * callers are the router's I/O threads and the renewal timer, which a Redis failure must not stop.
     */
    private void safely(String what, Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            failed.increment();
            LOG.warn("Could not {} on Redis: {}", what, e.toString());
        }
    }

    private RedisAsyncCommands<String, String> async() {
        return commands.async();
    }

    @Override
    public void close() {
        if (!open.compareAndSet(true, false)) {
            return;
        }
        renewer.shutdownNow();
        try {
            pubSub.close();
            commands.close();
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }
}
