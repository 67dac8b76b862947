package io.courier.bench.floor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.courier.bench.load.Pair;
import io.courier.bench.load.Payloads;
import io.courier.bench.load.Target;
import io.courier.bench.load.Targets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class FloorServerTest {

    private static final int MESSAGES_PER_PAIR = 1_000;
    private static final int PAYLOAD_BYTES = 100;

    @ParameterizedTest
    @ValueSource(strings = {"relay", "aeron-ipc", "aeron-udp"})
    void shouldDeliverEveryMessageExactlyOnceToItsOwnPair(String kind) throws Exception {
        try (FloorServer.Handle floor = FloorServer.start(kind);
             Target target = Targets.open(floor.address(), Map.of())) {
            CountingSink first = new CountingSink(MESSAGES_PER_PAIR);
            CountingSink second = new CountingSink(MESSAGES_PER_PAIR);
            Pair one = target.openPair(1, first).get(30, TimeUnit.SECONDS);
            Pair two = target.openPair(2, second).get(30, TimeUnit.SECONDS);

            // Distinct stamps per pair: odd ones on pair 1, even ones on pair 2.
            long base = System.nanoTime();
            for (int i = 0; i < MESSAGES_PER_PAIR; i++) {
                one.send(Payloads.create(PAYLOAD_BYTES, base + 2L * i + 1));
                two.send(Payloads.create(PAYLOAD_BYTES, base + 2L * i));
            }

            assertThat(first.all.await(30, TimeUnit.SECONDS)).as("pair 1 received all").isTrue();
            assertThat(second.all.await(30, TimeUnit.SECONDS)).as("pair 2 received all").isTrue();
            one.close();
            two.close();
            assertThat(first.received).hasSize(MESSAGES_PER_PAIR).allMatch(t -> (t - base) % 2 == 1);
            assertThat(second.received).hasSize(MESSAGES_PER_PAIR).allMatch(t -> (t - base) % 2 == 0);
            assertThat(first.receipts.get() + second.receipts.get()).isEqualTo(2 * MESSAGES_PER_PAIR);
            assertThat(first.failures).isEmpty();
            assertThat(second.failures).isEmpty();
            assertThat(first.accepted.get() + second.accepted.get()).as("floors never acknowledge").isZero();
        }
    }

    @Test
    void shouldAcceptAnIdleRelayConnection() throws Exception {
        try (FloorServer.Handle floor = FloorServer.start("relay");
             Target target = Targets.open(floor.address(), Map.of())) {
            AutoCloseable idle = target.openIdle(7).get(30, TimeUnit.SECONDS);
            idle.close();
        }
    }

    @Test
    void shouldRefuseIdleConnectionsOnAeronFloors() throws Exception {
        try (FloorServer.Handle floor = FloorServer.start("aeron-ipc");
             Target target = Targets.open(floor.address(), Map.of())) {
            assertThatThrownBy(() -> target.openIdle(7))
                .isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("density is not measured for floors");
        }
    }

    @Test
    void shouldNameTheKnownKindsForAnUnknownOne() {
        assertThatThrownBy(() -> FloorServer.start("carrier-pigeon"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("carrier-pigeon")
            .hasMessageContaining("aeron-udp");
    }

    @Test
    void shouldRejectMalformedAeronAddresses() {
        assertThatThrownBy(() -> Targets.open("aeron-udp://127.0.0.1/127.0.0.1:9", Map.of()))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("aeron-udp://HOST:PING_PORT/HOST:PONG_PORT");
    }
}
