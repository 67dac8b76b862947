package io.courier.server;

import io.courier.media.BlobStoreProvider;
import io.courier.media.BlobStores;
import io.courier.media.MediaConfig;
import io.courier.plugin.PluginOption;
import io.courier.router.RouterConfig;
import io.courier.router.auth.AuthenticatorProvider;
import io.courier.router.auth.AuthenticatorProviders;
import io.courier.server.internal.ConfigNode;
import io.courier.storage.StorageProvider;
import io.courier.storage.StorageProviders;
import io.courier.transport.TransportProvider;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportSettings;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import java.util.regex.Pattern;

/**
 * Builds a {@link ServerConfig} from the built-in defaults, an optional YAML file, and
 * {@code key=value} overrides from the command line, in that order. Every key is known: a typo
 * anywhere — also among a plug-in's options, which each plug-in declares — fails naming the key,
 * the value and where it came from (the file and line, or the {@code --set}); so does a value of
 * the wrong type. Booleans are {@code true} or {@code false}, nothing else.
 *
 * <p>Each default is written in one place: the router's in {@link RouterConfig.Builder}, each
 * plug-in's in the options it declares, the frame limit and bind address in
 * {@link TransportSettings}, and the server's own choices (data directory, which plug-ins, ports,
 * the admin endpoint) in {@code courier-defaults.yaml} on the class path.
 */
public final class ConfigLoader {

    private static final String DEFAULTS = "/courier-defaults.yaml";
    private static final String DEFAULTS_ORIGIN = "built-in defaults (courier-defaults.yaml)";
    private static final Pattern INTEGER = Pattern.compile("-?[0-9]+(_[0-9]+)*");

    /** Keys that moved, so an older configuration file is told where. */
    private static final Map<String, String> MOVED = Map.of(
        "auth.secret-file", "auth.options.key-dir, a directory of keys (an existing DATA_DIR/auth.key becomes its key 1)",
        "auth.options.secret-file",
        "auth.options.key-dir, a directory of keys (an existing DATA_DIR/auth.key becomes its key 1)");

    /** The router's keys, each bound to its builder setter; the builder holds the defaults. */
    private static final Map<String, BiConsumer<RouterConfig.Builder, Integer>> ROUTER_KEYS = routerKeys();

    private ConfigLoader() {
    }

    private static Map<String, BiConsumer<RouterConfig.Builder, Integer>> routerKeys() {
        Map<String, BiConsumer<RouterConfig.Builder, Integer>> keys = new TreeMap<>();
        keys.put("heartbeat-interval-ms", RouterConfig.Builder::heartbeatIntervalMs);
        keys.put("missed-heartbeats", RouterConfig.Builder::missedHeartbeats);
        keys.put("hello-timeout-ms", RouterConfig.Builder::helloTimeoutMs);
        keys.put("mailbox-capacity", RouterConfig.Builder::mailboxCapacity);
        keys.put("max-payload-bytes", RouterConfig.Builder::maxPayloadBytes);
        keys.put("writer-queue-capacity", RouterConfig.Builder::writerQueueCapacity);
        keys.put("max-batch", RouterConfig.Builder::maxBatch);
        keys.put("drain-page-size", RouterConfig.Builder::drainPageSize);
        keys.put("presence-flush-interval-ms", RouterConfig.Builder::presenceFlushIntervalMs);
        keys.put("dedup-window-hours", RouterConfig.Builder::dedupWindowHours);
        keys.put("delivered-retention-hours", RouterConfig.Builder::deliveredRetentionHours);
        keys.put("expiry-interval-ms", RouterConfig.Builder::expiryIntervalMs);
        keys.put("expiry-batch", RouterConfig.Builder::expiryBatch);
        keys.put("frames-per-second", RouterConfig.Builder::framesPerSecond);
        keys.put("frame-burst", RouterConfig.Builder::frameBurst);
        keys.put("bytes-per-second", RouterConfig.Builder::bytesPerSecond);
        keys.put("byte-burst", RouterConfig.Builder::byteBurst);
        keys.put("writer-share", RouterConfig.Builder::writerShare);
        keys.put("inbox-max-messages", RouterConfig.Builder::inboxMaxMessages);
        keys.put("inbox-max-bytes", RouterConfig.Builder::inboxMaxBytes);
        keys.put("max-devices-per-user", RouterConfig.Builder::maxDevicesPerUser);
        keys.put("max-ids-per-ack", RouterConfig.Builder::maxIdsPerAck);
        keys.put("max-contacts", RouterConfig.Builder::maxContacts);
        keys.put("max-presence-watch", RouterConfig.Builder::maxPresenceWatch);
        keys.put("presence-coalesce-ms", RouterConfig.Builder::presenceCoalesceMs);
        keys.put("max-one-time-pre-keys-per-publish", RouterConfig.Builder::maxOneTimePreKeysPerPublish);
        keys.put("max-one-time-pre-keys", RouterConfig.Builder::maxOneTimePreKeys);
        keys.put("one-time-pre-keys-low", RouterConfig.Builder::oneTimePreKeysLow);
        return keys;
    }

    /** The defaults alone. */
    public static ServerConfig defaults() {
        return load(null, List.of());
    }

    /**
     * @param file      a YAML file, or null for none.
     * @param overrides {@code dotted.key=value} strings, e.g. {@code transports.tcp.port=7200}.
     * @throws ConfigException naming the key, the bad value and where it came from.
     */
    public static ServerConfig load(Path file, List<String> overrides) {
        ConfigNode tree = readDefaults();
        if (file != null) {
            tree.overlay(readFile(file));
        }
        for (String override : overrides) {
            int eq = override.indexOf('=');
            if (eq <= 0) {
                throw new ConfigException("--set " + override + ": an override looks like key=value, e.g. "
                    + "--set transports.tcp.port=7200");
            }
            tree.set(override.substring(0, eq).trim(), override.substring(eq + 1).trim(), "--set " + override);
        }
        return bind(tree);
    }

    private static ConfigNode readDefaults() {
        try (InputStream in = ConfigLoader.class.getResourceAsStream(DEFAULTS)) {
            if (in == null) {
                throw new IllegalStateException(DEFAULTS + " is missing from the class path");
            }
            return ConfigNode.readYaml(in, DEFAULTS_ORIGIN);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot read " + DEFAULTS, e);
        }
    }

    private static ConfigNode readFile(Path file) {
        Path absolute = file.toAbsolutePath().normalize();
        if (Files.isDirectory(absolute)) {
            throw new ConfigException("--config " + absolute + " is a directory; give the YAML file itself");
        }
        if (!Files.isReadable(absolute)) {
            throw new ConfigException("--config " + absolute + ": no such file, or not readable; "
                + "courier.example.yaml in the repository is a commented example to start from");
        }
        try (InputStream in = Files.newInputStream(absolute)) {
            return ConfigNode.readYaml(in, absolute.toString());
        } catch (IOException e) {
            throw new ConfigException("Cannot read --config " + absolute + ": " + e.getMessage());
        }
    }

    // ---------------------------------------------------------------- binding

    private static ServerConfig bind(ConfigNode root) {
        Section top = new Section(root);
        top.allow("data-dir", "auth", "storage", "max-frame-bytes", "transports", "router", "admin", "limits", "media",
            "cluster");
        Path dataDir = Path.of(top.value("data-dir").required()).toAbsolutePath().normalize();

        Section auth = top.section("auth");
        auth.allow("mode", "options");
        Value mode = auth.value("mode");
        AuthenticatorProvider authenticator = find(mode, AuthenticatorProviders.all(), "an authenticator");
        Map<String, String> authOptions = pluginOptions(auth.section("options"),
            "auth.mode '" + authenticator.name() + "'", authenticator.options());

        Section storage = top.section("storage");
        storage.allow("backend", "options");
        Value backend = storage.value("backend");
        StorageProvider storageProvider = find(backend, StorageProviders.all(), "a storage backend");
        Map<String, String> storageOptions = pluginOptions(storage.section("options"),
            "storage backend '" + storageProvider.name() + "'", storageProvider.options());

        Value maxFrameValue = top.value("max-frame-bytes");
        int maxFrame = maxFrameValue.isSet() ? maxFrameValue.integer() : TransportSettings.DEFAULT_MAX_FRAME_BYTES;
        if (maxFrame < TransportSettings.MIN_MAX_FRAME_BYTES) {
            throw maxFrameValue.invalid("must be at least " + TransportSettings.MIN_MAX_FRAME_BYTES);
        }

        Map<String, TransportProvider> known = TransportProviders.all();
        Map<String, ServerConfig.Transport> transports = new LinkedHashMap<>();
        Section transportSection = top.section("transports");
        for (ConfigNode node : transportSection.node.children().values()) {
            TransportProvider provider = known.get(node.name());
            if (provider == null) {
                throw new ConfigException("Unknown transport '" + node.name() + "' at " + node.key() + " ("
                    + node.origin() + "); known transports: " + String.join(", ", known.keySet()));
            }
            Section t = new Section(node);
            t.allow("enabled", "host", "port", "options");
            Value enabledValue = t.value("enabled");
            Value hostValue = t.value("host");
            String host = hostValue.isSet() ? hostValue.required() : TransportSettings.DEFAULT_HOST;
            int port = t.value("port").port();
            Map<String, String> options = pluginOptions(t.section("options"), "transport '" + node.name() + "'",
                provider.options());
            if (!enabledValue.isSet() || enabledValue.bool()) {
                transports.put(node.name(), new ServerConfig.Transport(host, port, options));
            }
        }
        if (transports.isEmpty()) {
            throw new ConfigException("No transport is enabled; enable at least one under 'transports' "
                + "(e.g. --set transports.tcp.enabled=true)");
        }

        Section r = top.section("router");
        List<String> routerKeys = new ArrayList<>(ROUTER_KEYS.keySet());
        routerKeys.add("writer");
        routerKeys.add("shared-store");
        r.allow(routerKeys.toArray(String[]::new));
        RouterConfig.Builder builder = RouterConfig.builder();
        Map<String, Value> routerValues = new LinkedHashMap<>();
        Value writerValue = r.value("writer");
        if (writerValue.isSet()) {
            try {
                builder.writer(RouterConfig.WriterMode.parse(writerValue.required()));
            } catch (IllegalArgumentException e) {
                throw writerValue.invalid("must be auto, thread or inline");
            }
        }
        Value sharedValue = r.value("shared-store");
        if (sharedValue.isSet()) {
            builder.sharedStore(sharedValue.bool());
        }
        for (Map.Entry<String, BiConsumer<RouterConfig.Builder, Integer>> e : ROUTER_KEYS.entrySet()) {
            Value v = r.value(e.getKey());
            if (v.isSet()) {
                e.getValue().accept(builder, v.integer());
                routerValues.put(v.key, v);
            }
        }
        RouterConfig router;
        try {
            router = builder.build();
        } catch (IllegalArgumentException e) {
            // The builder names the key first ("router.mailbox-capacity must be ..."): add its origin.
            String where = routerValues.values().stream().filter(v -> e.getMessage().startsWith(v.key + " "))
                .findFirst().map(v -> " (" + v.origin + ")").orElse("");
            throw new ConfigException(e.getMessage() + where);
        }
        if (router.maxPayloadBytes() >= maxFrame) {
            throw new ConfigException("router.max-payload-bytes (" + router.maxPayloadBytes()
                + ") must be below max-frame-bytes (" + maxFrame + ") to leave room for the envelope");
        }
        if (router.byteBurst() < maxFrame) {
            // Else a frame of the largest allowed size could never pass the byte limit.
            throw new ConfigException("router.byte-burst (" + router.byteBurst() + ") must be at least max-frame-bytes ("
                + maxFrame + ")" + Optional.ofNullable(routerValues.get("router.byte-burst")).map(v -> " (" + v.origin + ")")
                .orElse(""));
        }

        Section admin = top.section("admin");
        admin.allow("enabled", "host", "port", "browser-client");
        ServerConfig.Admin adminConfig = new ServerConfig.Admin(admin.value("enabled").bool(),
            admin.value("host").required(), admin.value("port").port(), admin.value("browser-client").bool());

        Section limits = top.section("limits");
        limits.allow("max-connections", "max-connections-per-address", "fd-reserve");
        ServerConfig.Limits limitsConfig = new ServerConfig.Limits(limits.value("max-connections").optionalPositive(),
            limits.value("fd-reserve").optionalPositive(),
            limits.value("max-connections-per-address").optionalPositive().orElseThrow(
                () -> new ConfigException("limits.max-connections-per-address must be set")));

        ServerConfig.Cluster cluster = cluster(top.section("cluster"), transports);
        if (cluster.enabled()) {
            if (sharedValue.isSet() && !router.sharedStore()) {
                throw new ConfigException("router.shared-store cannot be false with cluster.enabled: the nodes of a "
                    + "cluster share one store (" + sharedValue.origin + ")");
            }
            router = router.withSharedStore();
        }
        return new ServerConfig(dataDir, new ServerConfig.Auth(authenticator.name(), authOptions),
            new ServerConfig.Storage(storageProvider.name(), storageOptions), transports, maxFrame, router, adminConfig,
            limitsConfig, media(top.section("media"), dataDir), cluster);
    }

    private static ServerConfig.Cluster cluster(Section cluster, Map<String, ServerConfig.Transport> transports) {
        cluster.allow("enabled", "node-id", "redis", "directory-ttl-ms");
        Value nodeValue = cluster.value("node-id");
        String nodeId;
        if (nodeValue.isSet()) {
            nodeId = nodeValue.required();
            if (!io.courier.storage.DeviceId.isValidId(nodeId)) {
                throw nodeValue.invalid("must be " + io.courier.storage.DeviceId.SYNTAX);
            }
        } else {
            nodeId = defaultNodeId(transports);
        }
        Value redis = cluster.value("redis");
        String uri = redis.required();
        if (!uri.startsWith("redis://") && !uri.startsWith("rediss://")) {
            throw redis.invalid("must be a redis:// or rediss:// URI, e.g. redis://127.0.0.1:6379");
        }
        long ttl = cluster.value("directory-ttl-ms").positiveLong(30_000);
        if (ttl < 300) {
            throw cluster.value("directory-ttl-ms").invalid("must be at least 300: each node renews its entries every"
                + " third of it");
        }
        return new ServerConfig.Cluster(cluster.value("enabled").bool(), nodeId, uri, ttl);
    }

    /** The host name and the first enabled transport's port: unique for nodes on one machine too. */
    private static String defaultNodeId(Map<String, ServerConfig.Transport> transports) {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "node";
        }
        String id = host.replaceAll("[^A-Za-z0-9._-]", "-").replaceFirst("^\\.+", "");
        int port = transports.values().stream().findFirst().map(ServerConfig.Transport::port).orElse(0);
        id = (id.isEmpty() ? "node" : id) + "-" + port;
        return id.length() > 64 ? id.substring(id.length() - 64) : id;
    }

    private static ServerConfig.Media media(Section media, Path dataDir) {
        media.allow("enabled", "host", "port", "public-url", "store", "options", "max-upload-bytes",
            "upload-expiry-ms", "download-expiry-ms", "max-slots-per-minute", "upload-bytes-per-hour",
            "unreferenced-ttl-ms", "cleanup-interval-ms");
        MediaConfig d = MediaConfig.defaults(dataDir, 0);
        Value storeName = media.value("store");
        BlobStoreProvider store = find(storeName, BlobStores.all(), "a blob store");
        Map<String, String> storeOptions = pluginOptions(media.section("options"), "media.store '" + store.name() + "'",
            store.options());
        Value publicUrl = media.value("public-url");
        URI url = null;
        if (publicUrl.isSet()) {
            try {
                url = new URI(publicUrl.required());
            } catch (URISyntaxException e) {
                throw publicUrl.invalid("must be an http or https URL, e.g. https://media.example.org");
            }
            if (url.getScheme() == null || !url.getScheme().matches("https?") || url.getHost() == null
                || url.getRawQuery() != null) {
                throw publicUrl.invalid("must be an http or https URL without a query, e.g. https://media.example.org");
            }
        }
        boolean enabled = media.value("enabled").bool();
        MediaConfig config = new MediaConfig(dataDir, media.value("host").required(), media.value("port").port(), url,
            store.name(), storeOptions, media.value("max-upload-bytes").positiveLong(d.maxUploadBytes()),
            media.value("upload-expiry-ms").positiveLong(d.uploadExpiryMs()),
            media.value("download-expiry-ms").positiveLong(d.downloadExpiryMs()),
            (int) Math.min(Integer.MAX_VALUE, media.value("max-slots-per-minute").positiveLong(d.maxSlotsPerMinute())),
            media.value("upload-bytes-per-hour").positiveLong(d.uploadBytesPerHour()),
            media.value("unreferenced-ttl-ms").positiveLong(d.unreferencedTtlMs()),
            media.value("cleanup-interval-ms").positiveLong(d.cleanupIntervalMs()));
        return new ServerConfig.Media(enabled, config);
    }

    private static <P> P find(Value name, Map<String, P> known, String what) {
        P provider = known.get(name.required());
        if (provider == null) {
            throw new ConfigException(name.key + " '" + name.text + "' (" + name.origin + ") is not " + what
                + " on the class path; available: " + String.join(", ", known.keySet()));
        }
        return provider;
    }

    /** The options of one plug-in, each declared by it and of the declared type. */
    private static Map<String, String> pluginOptions(Section options, String owner, List<PluginOption> declared) {
        Map<String, String> values = new TreeMap<>();
        for (ConfigNode node : options.node.children().values()) {
            Optional<PluginOption> option = PluginOption.find(declared, node.name());
            if (option.isEmpty()) {
                String moved = MOVED.containsKey(node.key()) ? "; it is now " + MOVED.get(node.key()) : "";
                throw new ConfigException("Unknown option " + node.key() + describe(node) + ": " + owner
                    + " has no option '" + node.name() + "'" + moved + "; its options: " + PluginOption.names(declared));
            }
            Value value = new Value(node);
            String text = value.required();
            Optional<String> problem = option.get().problem(text);
            if (problem.isPresent()) {
                throw value.invalid(problem.get());
            }
            values.put(node.name(), text);
        }
        return values;
    }

    private static String describe(ConfigNode node) {
        return (node.value() != null ? " = '" + node.value() + "'" : "") + " (" + node.origin() + ")";
    }

    /** A section of the tree with the keys it may hold; an absent or empty one has none. */
    private static final class Section {
        private final ConfigNode node;

        Section(ConfigNode node) {
            if (node != null && !node.isSection() && node.value() != null) {
                throw new ConfigException(node.key() + " = '" + node.value() + "' (" + node.origin()
                    + ") must be a section of keys, e.g. " + node.key() + ".KEY: VALUE");
            }
            this.node = node == null || !node.isSection() ? ConfigNode.root("") : node;
        }

        void allow(String... keys) {
            Set<String> allowed = Set.of(keys);
            for (ConfigNode child : node.children().values()) {
                if (!allowed.contains(child.name())) {
                    String under = node.key().isEmpty() ? "at the top level" : "under " + node.key();
                    String moved = MOVED.containsKey(child.key()) ? "; it is now " + MOVED.get(child.key()) : "";
                    throw new ConfigException("Unknown configuration key " + child.key() + describe(child) + moved
                        + "; keys " + under + ": " + String.join(", ", new TreeSet<>(allowed)));
                }
            }
        }

        Section section(String name) {
            ConfigNode child = node.children().get(name);
            return new Section(child);
        }

        Value value(String name) {
            ConfigNode child = node.children().get(name);
            if (child == null) {
                return new Value(node.key().isEmpty() ? name : node.key() + "." + name);
            }
            return new Value(child);
        }
    }

    /** One key's value as written, with its origin, read as the type the key needs. */
    private static final class Value {
        final String key;
        final String text;
        final String origin;
        final boolean present;

        Value(String absentKey) {
            this.key = absentKey;
            this.text = null;
            this.origin = null;
            this.present = false;
        }

        Value(ConfigNode node) {
            if (node.isSection()) {
                throw new ConfigException(node.key() + " (" + node.origin() + ") must be a single value, "
                    + "not a section of keys");
            }
            this.key = node.key();
            this.text = node.value();
            this.origin = node.origin();
            this.present = true;
        }

        boolean isSet() {
            return present;
        }

        String required() {
            if (!present) {
                throw new ConfigException(key + " must be set");
            }
            if (text == null || text.isBlank()) {
                throw new ConfigException(key + " (" + origin + ") has no value; give one, or remove the key "
                    + "to keep the default");
            }
            return text;
        }

        int integer() {
            String t = required();
            if (INTEGER.matcher(t).matches()) {
                try {
                    return Integer.parseInt(t.replace("_", ""));
                } catch (NumberFormatException tooLarge) {
                    // reported below
                }
            }
            throw invalid("must be an integer");
        }

        /** A positive integer, or empty when the key is absent. */
        java.util.OptionalInt optionalPositive() {
            if (!present) {
                return java.util.OptionalInt.empty();
            }
            int value = integer();
            if (value < 1) {
                throw invalid("must be a positive integer");
            }
            return java.util.OptionalInt.of(value);
        }

        /** A positive integer (up to 2^63-1), or {@code absent} when the key is not set. */
        long positiveLong(long absent) {
            if (!present) {
                return absent;
            }
            String t = required();
            if (INTEGER.matcher(t).matches()) {
                try {
                    long value = Long.parseLong(t.replace("_", ""));
                    if (value > 0) {
                        return value;
                    }
                } catch (NumberFormatException tooLarge) {
                    // reported below
                }
            }
            throw invalid("must be a positive integer");
        }

        int port() {
            int port = integer();
            if (port < 0 || port > 65535) {
                throw invalid("must be a port, 0..65535 (0 picks a free one)");
            }
            return port;
        }

        boolean bool() {
            String t = required();
            if (t.equals("true") || t.equals("false")) {
                return Boolean.parseBoolean(t);
            }
            throw invalid("must be true or false");
        }

        ConfigException invalid(String problem) {
            return new ConfigException(key + " " + problem + ", was '" + text + "' (" + origin + ")");
        }
    }
}
