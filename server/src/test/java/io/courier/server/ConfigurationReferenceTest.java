package io.courier.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.media.BlobStores;
import io.courier.plugin.PluginOption;
import io.courier.router.RouterConfig;
import io.courier.router.auth.AuthenticatorProviders;
import io.courier.storage.StorageProviders;
import io.courier.transport.TransportProviders;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The README's configuration reference says what the code does: every key and plug-in option it
 * lists exists, its default is the one the code uses (the built-in YAML, {@link RouterConfig}'s
 * builder, each plug-in's declaration), and nothing the code takes is missing from it. Defaults
 * are written once in the code; this keeps the one copy a person reads from drifting.
 */
class ConfigurationReferenceTest {

    private static final Path README = Path.of("..", "README.md");

    /** Rows of the section's tables, by the header of their table's first column. */
    private static Map<String, List<List<String>>> tables;

    @BeforeAll
    static void readTheReference() throws IOException {
        String readme = Files.readString(README);
        int start = readme.indexOf("## Configuration reference");
        assertThat(start).as("README has a configuration reference").isNotNegative();
        int end = readme.indexOf("\n## ", start + 1);
        tables = new LinkedHashMap<>();
        List<List<String>> current = null;
        for (String line : readme.substring(start, end).lines().toList()) {
            if (!line.startsWith("|")) {
                current = null;
                continue;
            }
            List<String> cells = List.of(line.substring(1, line.length() - 1).split(" \\| ", -1)).stream()
                .map(String::trim).toList();
            if (current == null) {
                current = new ArrayList<>();
                tables.put(cells.get(0), current);
            } else if (!cells.get(0).startsWith("---")) {
                current.add(cells);
            }
        }
        assertThat(tables).containsKeys("key", "transport", "backend", "authenticator", "store");
    }

    @Test
    void shouldDocumentEveryServerKeyWithTheDefaultTheCodeUses() {
        ServerConfig defaults = ConfigLoader.defaults();
        Map<String, String> expected = new TreeMap<>();
        expected.put("auth.mode", defaults.auth().mode());
        expected.put("storage.backend", defaults.storage().backend());
        expected.put("max-frame-bytes", Integer.toString(defaults.maxFrameBytes()));
        defaults.transports().forEach((name, t) -> {
            expected.put("transports." + name + ".port", Integer.toString(t.port()));
            assertThat(t.host()).as("transports.%s.host", name).isEqualTo(literal(documented("transports.NAME.host")));
        });
        expected.put("transports.NAME.enabled", "true");
        expected.put("transports.NAME.host", defaults.transports().get("tcp").host());
        RouterConfig router = RouterConfig.defaults();
        for (RecordComponent component : RouterConfig.class.getRecordComponents()) {
            Object value = value(component, router);
            if (value instanceof java.time.Duration duration) {
                // Durations are configured in whole hours: router.dedup-window-hours and the like.
                expected.put("router." + kebab(component.getName()) + "-hours", Long.toString(duration.toHours()));
            } else {
                expected.put("router." + kebab(component.getName()), String.valueOf(value));
            }
        }
        // Derived from the process's open-file limit, so documented in words.
        expected.put("limits.max-connections", "computed");
        expected.put("limits.fd-reserve", "computed");
        expected.put("limits.max-connections-per-address", Integer.toString(defaults.limits().maxConnectionsPerAddress()));
        expected.put("admin.enabled", Boolean.toString(defaults.admin().enabled()));
        expected.put("admin.host", defaults.admin().host());
        expected.put("admin.port", Integer.toString(defaults.admin().port()));
        expected.put("admin.browser-client", Boolean.toString(defaults.admin().browserClient()));
        io.courier.media.MediaConfig media = defaults.media().config();
        expected.put("media.enabled", Boolean.toString(defaults.media().enabled()));
        expected.put("media.host", media.host());
        expected.put("media.port", Integer.toString(media.port()));
        expected.put("media.public-url", "computed");
        expected.put("media.store", media.store());
        expected.put("media.max-upload-bytes", Long.toString(media.maxUploadBytes()));
        expected.put("media.upload-expiry-ms", Long.toString(media.uploadExpiryMs()));
        expected.put("media.download-expiry-ms", Long.toString(media.downloadExpiryMs()));
        expected.put("media.max-slots-per-minute", Integer.toString(media.maxSlotsPerMinute()));
        expected.put("media.upload-bytes-per-hour", Long.toString(media.uploadBytesPerHour()));
        expected.put("media.unreferenced-ttl-ms", Long.toString(media.unreferencedTtlMs()));
        expected.put("media.cleanup-interval-ms", Long.toString(media.cleanupIntervalMs()));
        expected.put("cluster.enabled", Boolean.toString(defaults.cluster().enabled()));
        expected.put("cluster.node-id", "computed");
        expected.put("cluster.redis", defaults.cluster().redis());
        expected.put("cluster.directory-ttl-ms", Long.toString(defaults.cluster().directoryTtlMs()));

        Map<String, String> readme = new TreeMap<>();
        for (List<String> row : tables.get("key")) {
            String key = unquote(row.get(0));
            if (!key.endsWith(".*") && !key.equals("data-dir")) {
                readme.put(key, isLiteral(row.get(1)) ? literal(row.get(1)) : "computed");
            }
        }
        assertThat(readme).isEqualTo(expected);
        assertThat(Path.of(literal(documented("data-dir"))).toAbsolutePath().normalize())
            .isEqualTo(defaults.dataDirectory());
        // Every transport's disabled default is documented as enabled: the defaults enable all four.
        assertThat(defaults.transports()).hasSize(TransportProviders.all().size());
    }

    @Test
    void shouldDocumentEveryTransportOptionWithItsDeclaredDefault() {
        assertPluginTable("transport", TransportProviders.all(), p -> p.options());
    }

    @Test
    void shouldDocumentEveryStorageOptionWithItsDeclaredDefault() {
        assertPluginTable("backend", StorageProviders.all(), p -> p.options());
    }

    @Test
    void shouldDocumentEveryBlobStoreOptionWithItsDeclaredDefault() {
        assertPluginTable("store", BlobStores.all(), p -> p.options());
    }

    @Test
    void shouldDocumentEveryAuthenticatorOptionWithItsDeclaredDefault() {
        assertPluginTable("authenticator", AuthenticatorProviders.all(), p -> p.options());
    }

    /**
     * One table: each row's plug-ins declare its option with its default (a computed default is
     * documented in words, a fixed one as {@code `literal`}), and every declared option has a row.
     */
    private static <P> void assertPluginTable(String table, Map<String, P> providers,
                                              Function<P, List<PluginOption>> declared) {
        Map<String, String> readme = new TreeMap<>();
        for (List<String> row : tables.get(table)) {
            for (String plugin : row.get(0).split(",")) {
                readme.put(unquote(plugin.trim()) + "." + unquote(row.get(1)), row.get(2));
            }
        }
        Map<String, String> code = new TreeMap<>();
        providers.forEach((name, provider) -> declared.apply(provider).forEach(option ->
            code.put(name + "." + option.name(), option.hasDefault() ? "`" + option.defaultValue() + "`" : "computed")));
        Map<String, String> readmeNormalised = readme.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey,
            e -> isLiteral(e.getValue()) ? e.getValue() : "computed", (a, b) -> a, TreeMap::new));
        assertThat(readmeNormalised).as("%s options: README vs declarations", table).isEqualTo(code);
        assertThat(new TreeSet<>(providers.keySet())).as("every %s is on the class path", table)
            .containsAll(readme.keySet().stream().map(k -> k.substring(0, k.indexOf('.'))).toList());
    }

    private static String documented(String key) {
        Optional<List<String>> row = tables.get("key").stream().filter(r -> unquote(r.get(0)).equals(key)).findFirst();
        assertThat(row).as("README documents %s", key).isPresent();
        return row.get().get(1);
    }

    private static boolean isLiteral(String cell) {
        return cell.length() > 2 && cell.startsWith("`") && cell.endsWith("`") && cell.indexOf('`', 1) == cell.length() - 1;
    }

    private static String literal(String cell) {
        return isLiteral(cell) ? cell.substring(1, cell.length() - 1) : cell;
    }

    private static String unquote(String cell) {
        return cell.replace("`", "");
    }

    private static String kebab(String camel) {
        return camel.replaceAll("([a-z])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
    }

    private static Object value(RecordComponent component, Object record) {
        try {
            return component.getAccessor().invoke(record);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
