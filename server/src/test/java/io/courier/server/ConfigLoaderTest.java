package io.courier.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.courier.storage.RetentionPolicy;
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
        assertThat(config.transports().get("ws").options()).containsEntry("path", "/ws");
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
        assertThat(config.transports().get("tcp").options()).containsEntry("epoll", "true");
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
}
