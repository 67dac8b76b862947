package io.courier.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class TargetsTest {

    @Test
    void shouldReadTheRoundTripOption() {
        assertThat(Targets.roundTrip(Map.of())).isFalse();
        assertThat(Targets.roundTrip(Map.of("rtt", "true"))).isTrue();
        assertThat(Targets.roundTrip(Map.of("rtt", "false"))).isFalse();
        assertThatThrownBy(() -> Targets.roundTrip(Map.of("rtt", "yes"))).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("'rtt' must be true or false, was 'yes'");
    }

    @Test
    void shouldRefuseRoundTripsOnTheAeronFloors() {
        assertThatThrownBy(() -> Targets.open("aeron-ipc:/tmp/none", Map.of("rtt", "true")))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("the Aeron floors carry one way");
    }
}
