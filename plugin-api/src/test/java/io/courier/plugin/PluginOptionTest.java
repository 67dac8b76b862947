package io.courier.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PluginOptionTest {

    private static final PluginOption DEFLATE = PluginOption.flag("permessage-deflate", false, "compress");
    private static final PluginOption WINDOW = PluginOption.positiveInt("window", 64, "datagrams in flight");
    private static final PluginOption THREADS = PluginOption.positiveInt("threads", "I/O threads; CPU cores");
    private static final PluginOption RATE = PluginOption.positiveNumber("handshakes-per-second", 20, "rate");
    private static final PluginOption PATH = PluginOption.text("path", "/ws", "upgrade path");

    @Test
    void shouldUseTheDeclaredDefaultWhenAbsent() {
        Map<String, String> none = Map.of();
        assertThat(DEFLATE.booleanIn(none)).isFalse();
        assertThat(WINDOW.intIn(none)).isEqualTo(64);
        assertThat(THREADS.intIn(none, 3)).isEqualTo(3);
        assertThat(RATE.numberIn(none)).isEqualTo(20.0);
        assertThat(RATE.defaultValue()).isEqualTo("20");
        assertThat(PATH.textIn(none)).isEqualTo("/ws");
        assertThat(THREADS.hasDefault()).isFalse();
    }

    @Test
    void shouldReadValidValues() {
        Map<String, String> options = Map.of("permessage-deflate", "true", "window", "65_536", "threads", "2",
            "handshakes-per-second", "0.5", "path", "/chat");
        assertThat(DEFLATE.booleanIn(options)).isTrue();
        assertThat(WINDOW.intIn(options)).isEqualTo(65536);
        assertThat(THREADS.intIn(options, 3)).isEqualTo(2);
        assertThat(RATE.numberIn(options)).isEqualTo(0.5);
        assertThat(PATH.textIn(options)).isEqualTo("/chat");
    }

    @Test
    void shouldRefuseYesOnAndOneAsBooleansNamingTheOption() {
        for (String notABoolean : List.of("yes", "no", "on", "off", "1", "TRUE", "True", "")) {
            assertThat(DEFLATE.problem(notABoolean)).contains("must be true or false");
            assertThatThrownBy(() -> DEFLATE.booleanIn(Map.of("permessage-deflate", notABoolean)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Option 'permessage-deflate' must be true or false, was '" + notABoolean + "'");
        }
    }

    @Test
    void shouldRefuseIntegersThatAreNotPositiveWholeNumbers() {
        for (String bad : List.of("0", "-3", "1.5", "64k", " 64", "0x40", "3000000000", "_1", "")) {
            assertThat(WINDOW.problem(bad)).as(bad).contains("must be a positive integer");
        }
        assertThatThrownBy(() -> WINDOW.intIn(Map.of("window", "many")))
            .hasMessage("Option 'window' must be a positive integer, was 'many'");
        assertThat(RATE.problem("0")).contains("must be a positive number");
        assertThat(RATE.problem("1e3")).contains("must be a positive number");
    }

    @Test
    void shouldReadIsoDurationsAndRefuseOthersNamingTheOption() {
        PluginOption ttl = PluginOption.duration("max-token-ttl", "P30D", "longest token lifetime");
        assertThat(ttl.durationIn(Map.of())).isEqualTo(java.time.Duration.ofDays(30));
        assertThat(ttl.durationIn(Map.of("max-token-ttl", "PT12H"))).isEqualTo(java.time.Duration.ofHours(12));
        for (String bad : List.of("30d", "P0D", "-P1D", "PT-5S", "30", "")) {
            assertThat(ttl.problem(bad)).as(bad).contains("must be an ISO-8601 duration above zero, e.g. P30D or PT12H");
        }
        assertThatThrownBy(() -> ttl.durationIn(Map.of("max-token-ttl", "a month")))
            .hasMessage("Option 'max-token-ttl' must be an ISO-8601 duration above zero, e.g. P30D or PT12H, was 'a month'");
    }

    @Test
    void shouldRefuseAnInvalidDefaultInTheDeclarationItself() {
        assertThatThrownBy(() -> new PluginOption("sync", PluginOption.Type.BOOLEAN, "yes", "fsync"))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sync").hasMessageContaining("yes");
        assertThatThrownBy(() -> PluginOption.flag("Sync", true, "fsync")).hasMessageContaining("Sync");
    }

    @Test
    void shouldListNamesSortedForMessages() {
        assertThat(PluginOption.names(List.of(WINDOW, DEFLATE, PATH))).isEqualTo("path, permessage-deflate, window");
        assertThat(PluginOption.names(List.of())).isEqualTo("none");
        assertThat(PluginOption.find(List.of(WINDOW, PATH), "path")).contains(PATH);
    }
}
