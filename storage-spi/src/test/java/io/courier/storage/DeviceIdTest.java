package io.courier.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DeviceIdTest {

    @Test
    void shouldAcceptIdsOfTheDocumentedSyntax() {
        assertThat(DeviceId.isValidId("alice")).isTrue();
        assertThat(DeviceId.isValidId("a.b_c-1")).isTrue();
        assertThat(DeviceId.isValidId("x".repeat(64))).isTrue();
        assertThat(DeviceId.isValidId("1")).isTrue();
    }

    @Test
    void shouldRefuseIdsUnsafeAsAPathComponent() {
        for (String unsafe : new String[] {".", "..", ".hidden", "../etc", "a/b", "a\\b", "", "x".repeat(65), "é"}) {
            assertThat(DeviceId.isValidId(unsafe)).as("'%s'", unsafe).isFalse();
        }
        assertThatThrownBy(() -> new DeviceId("..", "1")).hasMessageContaining("not starting with '.'");
    }
}
