package io.courier.bench.peer;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class InFlightPublishesTest {

    @Test
    void shouldHandOutIdsFromOneAndWrapPastZero() {
        InFlightPublishes inFlight = new InFlightPublishes();
        assertThat(inFlight.acquire(100)).isEqualTo(1);
        for (int id = 2; id <= 65_535; id++) {
            assertThat(inFlight.release(id - 1)).isEqualTo(100 + id - 2);
            assertThat(inFlight.acquire(100 + id - 1)).isEqualTo(id);
        }
        inFlight.release(65_535);

        assertThat(inFlight.acquire(7)).isEqualTo(1);
        assertThat(inFlight.inFlight()).isEqualTo(1);
    }

    @Test
    void shouldReturnTheScheduledTimeOnceOnPubAck() {
        InFlightPublishes inFlight = new InFlightPublishes();
        int id = inFlight.acquire(-42);

        assertThat(inFlight.release(id)).isEqualTo(-42);
        assertThat(InFlightPublishes.isUnknown(inFlight.release(id))).isTrue();
        assertThat(InFlightPublishes.isUnknown(inFlight.release(0))).isTrue();
        assertThat(InFlightPublishes.isUnknown(inFlight.release(65_536))).isTrue();
    }

    @Test
    void shouldRefuseAnIdStillInFlightWhenItsTurnComesRound() {
        InFlightPublishes inFlight = new InFlightPublishes();
        inFlight.acquire(1);
        for (int id = 2; id <= 65_535; id++) {
            inFlight.release(inFlight.acquire(id));
        }

        assertThat(inFlight.acquire(99)).isZero();
        inFlight.release(1);
        assertThat(inFlight.acquire(99)).isEqualTo(1);
    }
}
