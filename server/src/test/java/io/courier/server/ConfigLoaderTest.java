package io.courier.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.courier.plugin.PluginOption;
import io.courier.router.RouterConfig;
import io.courier.storage.RetentionPolicy;
import io.courier.transport.TransportProviders;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    @TempDir
    Path dir;

    @Test
    void shouldUseTheDocumentedDefaults() {
        ServerConfig config = ConfigLoader.defaults();
        assertThat(config.transports()).containsOnlyKeys("tcp", "udp", "ws", "longpoll");
        assertThat(config.transports().get("udp").port()).isEqualTo(7101);
        assertThat(config.transports().get("longpoll").port()).isEqualTo(7103);
        assertThat(config.transports().get("ws").port()).isEqualTo(7102);
        // A plug-in option's default is the plug-in's declaration; configuration passes only what is set.
        assertThat(config.transports().get("ws").options()).isEmpty();
        assertThat(PluginOption.find(TransportProviders.find("ws").options(), "path").orElseThrow().defaultValue())
            .isEqualTo("/ws");
        assertThat(config.transports().get("tcp").port()).isEqualTo(7100);
        assertThat(config.transports().get("tcp").host()).isEqualTo("127.0.0.1");
        assertThat(config.admin().port()).isEqualTo(7190);
        assertThat(config.auth().mode()).isEqualTo("hmac");
        assertThat(config.router().heartbeatIntervalMs()).isEqualTo(5000);
    }

    @Test
    void shouldApplyFileThenCommandLineOverrides() throws Exception {
        Path file = dir.resolve("courier.yaml");
        Files.writeString(file, "transports:\n  tcp:\n    port: 7200\nrouter:\n  mailbox-capacity: 64\n");
        ServerConfig config = ConfigLoader.load(file, List.of("transports.tcp.port=7300", "auth.mode=insecure"));
        assertThat(config.transports().get("tcp").port()).isEqualTo(7300);
        assertThat(config.router().mailboxCapacity()).isEqualTo(64);
        assertThat(config.auth().mode()).isEqualTo("insecure");
    }

    @Test
    void shouldNameAnUnknownKeyAndWhereItCameFrom() throws Exception {
        Path file = dir.resolve("typo.yaml");
        Files.writeString(file, "router:\n  mailbox-capacty: 64\n");
        assertThatThrownBy(() -> ConfigLoader.load(file, List.of()))
            .isInstanceOf(ConfigException.class)
            .hasMessageContaining("router.mailbox-capacty").hasMessageContaining(file.toString())
            .hasMessageContaining("mailbox-capacity");
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("admin.prot=1")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("admin.prot");
    }

    @Test
    void shouldReadTheRetentionKeysUnderRouter() {
        ServerConfig defaults = ConfigLoader.defaults();
        assertThat(defaults.router().dedupWindow()).isEqualTo(Duration.ofDays(7));
        assertThat(defaults.router().deliveredRetention()).isEqualTo(Duration.ofDays(30));

        ServerConfig config = ConfigLoader.load(null, List.of("router.dedup-window-hours=24",
            "router.delivered-retention-hours=48", "router.expiry-interval-ms=5000", "router.expiry-batch=200"));
        assertThat(config.router().retention()).isEqualTo(new RetentionPolicy(
            Duration.ofDays(1), Duration.ofDays(2), 200));
        assertThat(config.router().expiryIntervalMs()).isEqualTo(5000);
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("router.dedup-window-hours=0")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("router.dedup-window-hours");
    }

    @Test
    void shouldReadWhereCommitsRunAndRefuseAnUnknownChoice() {
        assertThat(ConfigLoader.defaults().router().writer()).isEqualTo(RouterConfig.WriterMode.AUTO);
        assertThat(ConfigLoader.load(null, List.of("router.writer=thread")).router().writer())
            .isEqualTo(RouterConfig.WriterMode.THREAD);
        assertThat(ConfigLoader.load(null, List.of("router.writer=inline")).router().writer())
            .isEqualTo(RouterConfig.WriterMode.INLINE);
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("router.writer=fast")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("router.writer")
            .hasMessageContaining("fast").hasMessageContaining("auto, thread or inline");
    }

    @Test
    void shouldReadWhetherTheStoreIsSharedAndRefuseAnythingButABoolean() {
        assertThat(ConfigLoader.defaults().router().sharedStore()).isFalse();
        assertThat(ConfigLoader.load(null, List.of("router.shared-store=true")).router().sharedStore()).isTrue();
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("router.shared-store=yes")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("router.shared-store")
            .hasMessageContaining("true or false");
    }

    @Test
    void shouldReadTheClusterSettingsAndMakeANodeShareItsStore() {
        ServerConfig single = ConfigLoader.defaults();
        assertThat(single.cluster().enabled()).isFalse();
        assertThat(single.router().sharedStore()).as("a single node owns its store").isFalse();

        ServerConfig node = ConfigLoader.load(null, List.of("cluster.enabled=true", "cluster.node-id=node-2",
            "cluster.redis=redis://10.0.0.5:6380", "cluster.directory-ttl-ms=9000"));
        assertThat(node.cluster()).isEqualTo(new ServerConfig.Cluster(true, "node-2", "redis://10.0.0.5:6380", 9000));
        assertThat(node.router().sharedStore()).isTrue();
        assertThat(ConfigLoader.load(null, List.of("cluster.enabled=true")).cluster().nodeId())
            .as("by default the host name and the first transport's port").endsWith("-7100");

        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("cluster.node-id=node 2")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("cluster.node-id");
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("cluster.redis=http://127.0.0.1:6379")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("cluster.redis").hasMessageContaining("redis://");
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("cluster.directory-ttl-ms=100")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("cluster.directory-ttl-ms");
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("cluster.enabled=true", "router.shared-store=false")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("router.shared-store")
            .hasMessageContaining("cluster.enabled");
    }

    @Test
    void shouldNameTheKeyAndValueOfABadValue() {
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("router.mailbox-capacity=100")))
            .isInstanceOf(ConfigException.class)
            .hasMessageContaining("router.mailbox-capacity").hasMessageContaining("100");
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("transports.tcp.port=70000")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("transports.tcp.port");
        assertThatThrownBy(() -> ConfigLoader.load(dir.resolve("missing.yaml"), List.of()))
            .isInstanceOf(ConfigException.class).hasMessageContaining("missing.yaml");
    }

    @Test
    void shouldRefuseFairShareLimitsThatCouldNeverBeMetNamingKeyAndOrigin() {
        // A largest frame must fit the byte burst, and a largest ack a session's writer share.
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("router.byte-burst=1000000")))
            .isInstanceOf(ConfigException.class)
            .hasMessageContaining("router.byte-burst (1000000) must be at least max-frame-bytes (1052672)")
            .hasMessageContaining("--set");
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("router.writer-share=100")))
            .isInstanceOf(ConfigException.class)
            .hasMessageContaining("router.writer-share must be at least router.max-ids-per-ack (1024), was 100");
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("router.inbox-max-messages=0")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("router.inbox-max-messages must be positive");
        assertThat(ConfigLoader.load(null, List.of("router.max-devices-per-user=3", "router.frames-per-second=50"))
            .router()).satisfies(r -> {
                assertThat(r.maxDevicesPerUser()).isEqualTo(3);
                assertThat(r.framesPerSecond()).isEqualTo(50);
            });
    }

    @Test
    void shouldFailStartUpListingAvailablePluginsForUnknownNames() {
        assertThatThrownBy(() -> CourierServer.start(ConfigLoader.load(null,
            List.of("data-dir=" + dir, "storage.backend=cassandra", "transports.tcp.port=0", "transports.ws.port=0", "transports.longpoll.port=0", "transports.udp.port=0", "admin.port=0"))))
            .isInstanceOf(ConfigException.class)
            .hasMessageContaining("cassandra").hasMessageContaining("memory");
        assertThatThrownBy(() -> CourierServer.start(ConfigLoader.load(null,
            List.of("data-dir=" + dir, "transports.carrier-pigeon.port=0", "transports.tcp.port=0", "transports.ws.port=0", "transports.longpoll.port=0", "transports.udp.port=0", "admin.port=0"))))
            .isInstanceOf(ConfigException.class)
            .hasMessageContaining("carrier-pigeon").hasMessageContaining("tcp");
    }

    @Test
    void shouldLoadTheDocumentedExampleFile() {
        Path example = Path.of("..", "courier.example.yaml");
        ServerConfig config = ConfigLoader.load(example, List.of());
        assertThat(config.transports().get("tcp").options()).containsEntry("io", "auto");
        assertThat(config.admin().port()).isEqualTo(7190);
    }

    @Test
    void shouldFailStartUpListingAuthenticatorsForAnUnknownMode() {
        assertThatThrownBy(() -> CourierServer.start(ConfigLoader.load(null,
            List.of("data-dir=" + dir, "auth.mode=trust-me", "transports.tcp.port=0", "transports.ws.port=0", "transports.longpoll.port=0", "transports.udp.port=0", "admin.port=0"))))
            .isInstanceOf(ConfigException.class)
            .hasMessageContaining("auth.mode").hasMessageContaining("trust-me").hasMessageContaining("hmac")
            .hasMessageContaining("insecure");
    }

    @Test
    void shouldNameTheAddressOfAnUnreachableDatabase() {
        assertThatThrownBy(() -> CourierServer.start(ConfigLoader.load(null, List.of("data-dir=" + dir,
            "storage.backend=postgres", "storage.options.url=jdbc:postgresql://127.0.0.1:1/courier",
            "storage.options.connect-timeout-ms=1000", "transports.tcp.port=0", "transports.ws.port=0", "transports.longpoll.port=0", "transports.udp.port=0", "admin.port=0"))))
            .isInstanceOf(io.courier.storage.StorageException.class)
            .hasMessageContaining("jdbc:postgresql://127.0.0.1:1/courier");
    }

    @Test
    void shouldRefuseAConfigurationWithNoTransport() {
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("transports.tcp.enabled=false",
            "transports.ws.enabled=false", "transports.longpoll.enabled=false", "transports.udp.enabled=false")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("No transport");
    }

    @Test
    void shouldRefuseAnUnknownOptionOfEveryKindOfPluginNamingItsValueFileAndLine() throws Exception {
        Path file = dir.resolve("options.yaml");
        Files.writeString(file, "transports:\n  udp:\n    options:\n      windw: 32\n");
        assertThatThrownBy(() -> ConfigLoader.load(file, List.of()))
            .isInstanceOf(ConfigException.class)
            .hasMessage("Unknown option transports.udp.options.windw = '32' (" + file + " line 4): transport 'udp' has "
                + "no option 'windw'; its options: epoll, handshake-burst, handshakes-per-second, idle-timeout-ms, io, "
                + "max-unread-output-bytes, min-rto-ms, window");
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("storage.backend=postgres", "storage.options.host=db")))
            .isInstanceOf(ConfigException.class)
            .hasMessage("Unknown option storage.options.host = 'db' (--set storage.options.host=db): storage backend "
                + "'postgres' has no option 'host'; its options: connect-timeout-ms, password, pool-size, schema, url, "
                + "user");
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("auth.options.secret=x")))
            .isInstanceOf(ConfigException.class)
            .hasMessageContaining("auth.options.secret").hasMessageContaining("'x'").hasMessageContaining("key-dir");
        // An option another plug-in declares is still unknown to this one.
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("storage.backend=memory", "storage.options.sync=false")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("its options: none");
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("transports.tcp.options.path=/x")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("transport 'tcp' has no option 'path'");
    }

    @Test
    void shouldAcceptEveryDeclaredOption() {
        ServerConfig config = ConfigLoader.load(null, List.of("transports.ws.options.permessage-deflate=true",
            "transports.udp.options.handshakes-per-second=0.5", "transports.tcp.options.threads=2",
            "storage.options.sync=false", "auth.options.key-dir=other-keys", "auth.options.max-token-ttl=PT12H"));
        assertThat(config.transports().get("ws").options()).containsEntry("permessage-deflate", "true");
        assertThat(config.transports().get("udp").options()).containsEntry("handshakes-per-second", "0.5");
        assertThat(config.storage().options()).containsEntry("sync", "false");
        assertThat(config.auth().options()).containsEntry("key-dir", "other-keys").containsEntry("max-token-ttl", "PT12H");
    }

    @Test
    void shouldRefuseYamlOneOneBooleansAnywhere() throws Exception {
        Path file = dir.resolve("yes.yaml");
        Files.writeString(file, "transports:\n  ws:\n    options:\n      permessage-deflate: yes\n");
        assertThatThrownBy(() -> ConfigLoader.load(file, List.of()))
            .isInstanceOf(ConfigException.class)
            .hasMessage("transports.ws.options.permessage-deflate must be true or false, was 'yes' (" + file + " line 4)");
        for (String notABoolean : List.of("on", "off", "no", "1", "True")) {
            assertThatThrownBy(() -> ConfigLoader.load(null, List.of("admin.enabled=" + notABoolean)))
                .isInstanceOf(ConfigException.class)
                .hasMessage("admin.enabled must be true or false, was '" + notABoolean + "' (--set admin.enabled="
                    + notABoolean + ")");
        }
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("storage.options.sync=off")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("storage.options.sync must be true or false");
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("transports.udp.enabled=no")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("transports.udp.enabled must be true or false");
    }

    @Test
    void shouldNameTheKeyOfAPluginOptionOfTheWrongType() {
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("transports.udp.options.window=lots")))
            .isInstanceOf(ConfigException.class)
            .hasMessage("transports.udp.options.window must be a positive integer, was 'lots' "
                + "(--set transports.udp.options.window=lots)");
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("storage.options.block-cache-mb=0")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("storage.options.block-cache-mb");
    }

    @Test
    void shouldListTheKnownTransportsForAnUnknownOne() throws Exception {
        Path file = dir.resolve("tpc.yaml");
        Files.writeString(file, "transports:\n  tpc:\n    port: 7200\n");
        assertThatThrownBy(() -> ConfigLoader.load(file, List.of()))
            .isInstanceOf(ConfigException.class)
            .hasMessage("Unknown transport 'tpc' at transports.tpc (" + file + " line 2); known transports: longpoll, "
                + "tcp, udp, ws");
    }

    @Test
    void shouldNameTheLineOfAnUnknownKeyAndOfADuplicateOne() throws Exception {
        Path file = dir.resolve("lines.yaml");
        Files.writeString(file, "admin:\n  port: 7191\n\nrouter:\n  max-batch: 10\n  mailbox-capacty: 64\n");
        assertThatThrownBy(() -> ConfigLoader.load(file, List.of()))
            .isInstanceOf(ConfigException.class)
            .hasMessageStartingWith("Unknown configuration key router.mailbox-capacty = '64' (" + file + " line 6); "
                + "keys under router: ");
        Files.writeString(file, "admin:\n  port: 7191\nadmin:\n  port: 7192\n");
        assertThatThrownBy(() -> ConfigLoader.load(file, List.of()))
            .isInstanceOf(ConfigException.class)
            .hasMessage("admin is given twice (" + file + " line 1 and " + file + " line 3); keep one");
    }

    @Test
    void shouldNameTheLineAndColumnOfMalformedYaml() throws Exception {
        Path file = dir.resolve("broken.yaml");
        Files.writeString(file, "router:\n  max-batch: 3\n   oops: [\n");
        assertThatThrownBy(() -> ConfigLoader.load(file, List.of()))
            .isInstanceOf(ConfigException.class)
            .hasMessage(file + " line 3, column 8: mapping values are not allowed here; the file is not valid YAML");
    }

    @Test
    void shouldSayWhereAMovedKeyWent() {
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("auth.secret-file=k")))
            .isInstanceOf(ConfigException.class)
            .hasMessageStartingWith("Unknown configuration key auth.secret-file = 'k' (--set auth.secret-file=k); "
                + "it is now auth.options.key-dir, a directory of keys (an existing DATA_DIR/auth.key becomes its key 1)");
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("auth.options.secret-file=k")))
            .isInstanceOf(ConfigException.class)
            .hasMessage("Unknown option auth.options.secret-file = 'k' (--set auth.options.secret-file=k): auth.mode "
                + "'hmac' has no option 'secret-file'; it is now auth.options.key-dir, a directory of keys (an existing "
                + "DATA_DIR/auth.key becomes its key 1); its options: key-dir, max-token-ttl");
    }

    @Test
    void shouldRefuseAMaximumTokenLifetimeThatIsNoPositiveDuration() {
        assertThatThrownBy(() -> ConfigLoader.load(null, List.of("auth.options.max-token-ttl=30d")))
            .isInstanceOf(ConfigException.class)
            .hasMessageContaining("auth.options.max-token-ttl").hasMessageContaining("'30d'")
            .hasMessageContaining("ISO-8601 duration above zero, e.g. P30D or PT12H");
    }

    @Test
    void shouldGiveTheDataDirectoryAbsoluteAndNormalised() {
        ServerConfig config = ConfigLoader.load(null, List.of("data-dir=./x/../data"));
        assertThat(config.dataDirectory()).isEqualTo(Path.of("data").toAbsolutePath());
    }

    @Test
    void shouldKeepTransportsInTheOrderConfigured() {
        assertThat(ConfigLoader.defaults().transports().keySet()).containsExactly("tcp", "udp", "ws", "longpoll");
    }
}
