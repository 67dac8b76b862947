package io.courier.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.courier.storage.RetentionPolicy;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class RouterConfigTest {

    @Test
    void shouldHaveTheDesignDefaults() {
        RouterConfig config = RouterConfig.defaults();
        assertThat(config.heartbeatIntervalMs()).isEqualTo(5_000);
        assertThat(config.mailboxCapacity()).isEqualTo(128);
    }

    @Test
    void shouldNameTheKeyAndValueOfABadSetting() {
        assertThatThrownBy(() -> RouterConfig.builder().mailboxCapacity(100).build())
            .hasMessageContaining("router.mailbox-capacity").hasMessageContaining("100");
        assertThatThrownBy(() -> RouterConfig.builder().heartbeatIntervalMs(0).build())
            .hasMessageContaining("router.heartbeat-interval-ms");
    }

    @Test
    void shouldKeepDeduplicationSevenDaysAndUnreadDeliveriesThirtyByDefault() {
        RouterConfig config = RouterConfig.defaults();
        RetentionPolicy retention = config.retention();
        assertThat(retention.dedupWindow()).isEqualTo(Duration.ofDays(7));
        assertThat(retention.deliveredRetention()).isEqualTo(Duration.ofDays(30));
        assertThat(retention.batchSize()).isEqualTo(1_000);
        assertThat(config.expiryIntervalMs()).isEqualTo(60_000);
        assertThat(RouterConfig.builder().dedupWindowHours(1).deliveredRetentionHours(2).build().retention())
            .isEqualTo(new RetentionPolicy(Duration.ofHours(1), Duration.ofHours(2), 1_000));
    }

    @Test
    void shouldNameTheKeyOfABadRetentionSetting() {
        assertThatThrownBy(() -> RouterConfig.builder().dedupWindowHours(0).build())
            .hasMessage("router.dedup-window-hours must be positive, was 0");
        assertThatThrownBy(() -> RouterConfig.builder().deliveredRetentionHours(-5).build())
            .hasMessage("router.delivered-retention-hours must be positive, was -5");
        assertThatThrownBy(() -> RouterConfig.builder().expiryIntervalMs(0).build())
            .hasMessageContaining("router.expiry-interval-ms");
        assertThatThrownBy(() -> RouterConfig.builder().expiryBatch(0).build())
            .hasMessageContaining("router.expiry-batch");
    }

    @Test
    void shouldHaveThePresenceDefaultsAndNameTheKeyOfABadPresenceSetting() {
        RouterConfig config = RouterConfig.defaults();
        assertThat(config.maxContacts()).isEqualTo(5_000);
        assertThat(config.maxPresenceWatch()).isEqualTo(1_024);
        assertThat(config.presenceCoalesceMs()).isEqualTo(2_000);
        assertThat(config.presenceFlushIntervalMs()).isEqualTo(300_000);
        assertThatThrownBy(() -> RouterConfig.builder().maxContacts(0).build())
            .hasMessage("router.max-contacts must be positive, was 0");
        assertThatThrownBy(() -> RouterConfig.builder().maxPresenceWatch(-1).build())
            .hasMessage("router.max-presence-watch must be positive, was -1");
        assertThatThrownBy(() -> RouterConfig.builder().presenceCoalesceMs(0).build())
            .hasMessage("router.presence-coalesce-ms must be positive, was 0");
    }
}
