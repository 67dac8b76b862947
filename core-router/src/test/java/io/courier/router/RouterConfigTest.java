package io.courier.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
}
