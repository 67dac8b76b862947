package io.courier.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StorageConfigTest {

    private final StorageConfig config = new StorageConfig(Path.of("data"),
        Map.of("sync", "false", "pool", "12", "bad-bool", "yes", "bad-int", "-3", "text", "x"));

    @Test
    void shouldReadTypedOptionsWithFallbacks() {
        assertThat(config.booleanOption("sync", true)).isFalse();
        assertThat(config.booleanOption("absent", true)).isTrue();
        assertThat(config.positiveIntOption("pool", 8)).isEqualTo(12);
        assertThat(config.positiveIntOption("absent", 8)).isEqualTo(8);
    }

    @Test
    void shouldNameTheKeyAndValueOfABadOption() {
        assertThatThrownBy(() -> config.booleanOption("bad-bool", true)).isInstanceOf(StorageException.class)
            .hasMessageContaining("storage.options.bad-bool").hasMessageContaining("yes");
        assertThatThrownBy(() -> config.positiveIntOption("bad-int", 1)).isInstanceOf(StorageException.class)
            .hasMessageContaining("storage.options.bad-int").hasMessageContaining("-3");
        assertThatThrownBy(() -> config.positiveIntOption("text", 1)).hasMessageContaining("'x'");
    }
}
