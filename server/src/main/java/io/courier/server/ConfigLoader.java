package io.courier.server;

import io.courier.router.RouterConfig;
import io.courier.transport.TransportSettings;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Builds a {@link ServerConfig} from the built-in defaults, an optional YAML file, and
 * {@code key=value} overrides from the command line, in that order. Every key is known: a typo
 * fails start-up naming the key and where it came from, and a bad value names the key and value.
 *
 * <p>The defaults are the file {@code courier-defaults.yaml} on the class path, the single place
 * where they are written down; {@code courier.example.yaml} in the repository documents them.
 */
public final class ConfigLoader {

    private static final String DEFAULTS = "/courier-defaults.yaml";
    private static final Set<String> DEFAULT_TRANSPORT_PORTS_KEYS = Set.of("enabled", "host", "port", "options");

    private ConfigLoader() {
    }

    /** The defaults alone. */
    public static ServerConfig defaults() {
        return load(null, List.of());
    }

    /**
     * @param file      a YAML file, or null for none.
     * @param overrides {@code dotted.key=value} strings, e.g. {@code transports.tcp.port=7200}.
     * @throws ConfigException naming the file, the key and the bad value.
     */
    public static ServerConfig load(Path file, List<String> overrides) {
        Map<String, Object> tree = readDefaults();
        if (file != null) {
            Map<String, Object> fromFile = readYaml(file);
            merge(tree, fromFile, "", file.toString());
        }
        for (String override : overrides) {
            int eq = override.indexOf('=');
            if (eq <= 0) {
                throw new ConfigException("Override '" + override + "' must look like key=value, e.g. transports.tcp.port=7200");
            }
            set(tree, override.substring(0, eq).trim(), parseScalar(override.substring(eq + 1).trim()), "--set " + override);
        }
        return bind(tree);
    }

    private static Map<String, Object> readDefaults() {
        try (InputStream in = ConfigLoader.class.getResourceAsStream(DEFAULTS)) {
            if (in == null) {
                throw new IllegalStateException(DEFAULTS + " is missing from the class path");
            }
            return asMap(yaml().load(in), DEFAULTS);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot read " + DEFAULTS, e);
        }
    }

    private static Map<String, Object> readYaml(Path file) {
        if (!Files.isReadable(file)) {
            throw new ConfigException("Configuration file " + file.toAbsolutePath() + " does not exist or is not readable");
        }
        try (InputStream in = Files.newInputStream(file)) {
            Object loaded = yaml().load(in);
            return loaded == null ? new LinkedHashMap<>() : asMap(loaded, file.toString());
        } catch (IOException | YAMLException e) {
            throw new ConfigException("Cannot read configuration file " + file.toAbsolutePath() + ": " + e.getMessage());
        }
    }

    private static Yaml yaml() {
        return new Yaml(new SafeConstructor(new LoaderOptions()));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object value, String where) {
        if (!(value instanceof Map)) {
            throw new ConfigException(where + ": expected a mapping of keys to values");
        }
        Map<String, Object> copy = new LinkedHashMap<>();
        ((Map<Object, Object>) value).forEach((k, v) -> copy.put(String.valueOf(k), v instanceof Map ? asMap(v, where) : v));
        return copy;
    }

    /** Overlays {@code source} onto {@code target}; keys must exist, except under open sections. */
    @SuppressWarnings("unchecked")
    private static void merge(Map<String, Object> target, Map<String, Object> source, String prefix, String where) {
        for (Map.Entry<String, Object> e : source.entrySet()) {
            String key = prefix + e.getKey();
            Object current = target.get(e.getKey());
            if (current instanceof Map && e.getValue() instanceof Map) {
                merge((Map<String, Object>) current, (Map<String, Object>) e.getValue(), key + ".", where);
            } else if (current == null && !isOpenSection(prefix) && !target.containsKey(e.getKey())) {
                throw unknownKey(key, where, target.keySet());
            } else {
                target.put(e.getKey(), e.getValue());
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static void set(Map<String, Object> tree, String dottedKey, Object value, String where) {
        String[] parts = dottedKey.split("\\.");
        Map<String, Object> node = tree;
        StringBuilder prefix = new StringBuilder();
        for (int i = 0; i < parts.length - 1; i++) {
            Object child = node.get(parts[i]);
            if (child == null && isOpenSection(prefix.toString())) {
                child = new LinkedHashMap<String, Object>();
                node.put(parts[i], child);
            }
            if (!(child instanceof Map)) {
                throw unknownKey(dottedKey, where, node.keySet());
            }
            prefix.append(parts[i]).append('.');
            node = (Map<String, Object>) child;
        }
        String last = parts[parts.length - 1];
        if (!node.containsKey(last) && !isOpenSection(prefix.toString())) {
            throw unknownKey(dottedKey, where, node.keySet());
        }
        node.put(last, value);
    }

    /** Sections whose keys are names chosen by the user: transports, and the options maps. */
    private static boolean isOpenSection(String prefix) {
        return prefix.equals("transports.") || prefix.endsWith("options.")
            || (prefix.startsWith("transports.") && prefix.chars().filter(c -> c == '.').count() == 2);
    }

    private static ConfigException unknownKey(String key, String where, Set<String> known) {
        return new ConfigException("Unknown configuration key '" + key + "' in " + where + "; known keys here: "
            + new TreeSet<>(known));
    }

    private static Object parseScalar(String text) {
        Object value = yaml().load(text);
        return value == null ? "" : value;
    }

    // ---------------------------------------------------------------- binding

    @SuppressWarnings("unchecked")
    private static ServerConfig bind(Map<String, Object> tree) {
        Path dataDir = Path.of(string(tree, "data-dir"));
        Map<String, Object> auth = section(tree, "auth");
        String mode = string(auth, "auth.mode");
        Map<String, String> authOptions = new TreeMap<>(stringMap(auth.get("options"), "auth.options"));
        authOptions.put("secret-file", string(auth, "auth.secret-file"));

        Map<String, Object> storage = section(tree, "storage");
        ServerConfig.Storage storageConfig = new ServerConfig.Storage(string(storage, "storage.backend"),
            stringMap(storage.get("options"), "storage.options"));

        int maxFrame = integer(tree, "max-frame-bytes");
        if (maxFrame < TransportSettings.MIN_MAX_FRAME_BYTES) {
            throw new ConfigException("max-frame-bytes must be at least " + TransportSettings.MIN_MAX_FRAME_BYTES
                + ", was " + maxFrame);
        }

        Map<String, ServerConfig.Transport> transports = new TreeMap<>();
        Map<String, Object> transportTree = section(tree, "transports");
        for (Map.Entry<String, Object> e : transportTree.entrySet()) {
            String name = e.getKey();
            String key = "transports." + name;
            if (!(e.getValue() instanceof Map)) {
                throw new ConfigException(key + " must be a mapping with enabled, host, port, options");
            }
            Map<String, Object> t = (Map<String, Object>) e.getValue();
            for (String k : t.keySet()) {
                if (!DEFAULT_TRANSPORT_PORTS_KEYS.contains(k)) {
                    throw unknownKey(key + "." + k, "the configuration", DEFAULT_TRANSPORT_PORTS_KEYS);
                }
            }
            boolean enabled = !t.containsKey("enabled") || bool(t, key + ".enabled");
            if (!enabled) {
                continue;
            }
            String host = t.containsKey("host") ? string(t, key + ".host") : TransportSettings.DEFAULT_HOST;
            int port = integer(t, key + ".port");
            if (port < 0 || port > 65535) {
                throw new ConfigException(key + ".port must be 0..65535, was " + port);
            }
            transports.put(name, new ServerConfig.Transport(host, port, stringMap(t.get("options"), key + ".options")));
        }
        if (transports.isEmpty()) {
            throw new ConfigException("No transport is enabled; enable at least one under 'transports'");
        }

        Map<String, Object> r = section(tree, "router");
        RouterConfig router;
        try {
            router = RouterConfig.builder()
                .heartbeatIntervalMs(integer(r, "router.heartbeat-interval-ms"))
                .missedHeartbeats(integer(r, "router.missed-heartbeats"))
                .helloTimeoutMs(integer(r, "router.hello-timeout-ms"))
                .mailboxCapacity(integer(r, "router.mailbox-capacity"))
                .maxPayloadBytes(integer(r, "router.max-payload-bytes"))
                .writerQueueCapacity(integer(r, "router.writer-queue-capacity"))
                .maxBatch(integer(r, "router.max-batch"))
                .drainPageSize(integer(r, "router.drain-page-size"))
                .presenceFlushIntervalMs(integer(r, "router.presence-flush-interval-ms"))
                .dedupWindowHours(integer(r, "router.dedup-window-hours"))
                .deliveredRetentionHours(integer(r, "router.delivered-retention-hours"))
                .expiryIntervalMs(integer(r, "router.expiry-interval-ms"))
                .expiryBatch(integer(r, "router.expiry-batch"))
                .build();
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
        if (router.maxPayloadBytes() >= maxFrame) {
            throw new ConfigException("router.max-payload-bytes (" + router.maxPayloadBytes()
                + ") must be below max-frame-bytes (" + maxFrame + ") to leave room for the envelope");
        }

        Map<String, Object> admin = section(tree, "admin");
        ServerConfig.Admin adminConfig = new ServerConfig.Admin(bool(admin, "admin.enabled"),
            string(admin, "admin.host"), integer(admin, "admin.port"));

        return new ServerConfig(dataDir, new ServerConfig.Auth(mode, authOptions), storageConfig, transports, maxFrame,
            router, adminConfig);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> section(Map<String, Object> tree, String key) {
        Object value = tree.get(key);
        if (!(value instanceof Map)) {
            throw new ConfigException("'" + key + "' must be a mapping");
        }
        return (Map<String, Object>) value;
    }

    private static String string(Map<String, Object> tree, String key) {
        Object value = tree.get(leaf(key));
        if (value == null || value.toString().isBlank()) {
            throw new ConfigException(key + " must be set");
        }
        return value.toString();
    }

    private static int integer(Map<String, Object> tree, String key) {
        Object value = tree.get(leaf(key));
        if (value instanceof Integer i) {
            return i;
        }
        try {
            return Integer.parseInt(String.valueOf(value).replace("_", ""));
        } catch (NumberFormatException e) {
            throw new ConfigException(key + " must be an integer, was '" + value + "'");
        }
    }

    private static boolean bool(Map<String, Object> tree, String key) {
        Object value = tree.get(leaf(key));
        if (value instanceof Boolean b) {
            return b;
        }
        throw new ConfigException(key + " must be true or false, was '" + value + "'");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> stringMap(Object value, String key) {
        if (value == null) {
            return Map.of();
        }
        if (!(value instanceof Map)) {
            throw new ConfigException(key + " must be a mapping");
        }
        Map<String, String> out = new TreeMap<>();
        ((Map<String, Object>) value).forEach((k, v) -> out.put(k, String.valueOf(v)));
        return out;
    }

    private static String leaf(String key) {
        return key.substring(key.lastIndexOf('.') + 1);
    }
}
