package io.courier.router.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The two token buckets on their own, on a clock the test moves by hand. */
class RateLimiterTest {

    private static final long T0 = 1_000_000;

    @Test
    void shouldTakeABurstThenOneFramePerIntervalAndSayHowLongToWait() {
        // 2 frames a second, 3 at once.
        RateLimiter limiter = new RateLimiter(2, 3, 1_000_000, 1_000_000, 100, T0);
        assertThat(limiter.admit(T0, 10)).isZero();
        assertThat(limiter.admit(T0, 10)).isZero();
        assertThat(limiter.admit(T0, 10)).isZero();

        assertThat(limiter.admit(T0, 10)).as("the burst is spent: half a second to the next token").isEqualTo(500);
        assertThat(limiter.bytesWereShort()).isFalse();
        assertThat(limiter.admit(T0 + 499, 10)).isEqualTo(1);
        assertThat(limiter.admit(T0 + 500, 10)).as("a refused frame paid nothing").isZero();
        assertThat(limiter.admit(T0 + 500, 10)).isEqualTo(500);
    }

    @Test
    void shouldRefuseAFrameWhoseBytesTheByteBucketDoesNotHold() {
        // 1,000 bytes a second, 1,500 at once; frames are no limit here.
        RateLimiter limiter = new RateLimiter(1_000, 1_000, 1_000, 1_500, 100, T0);
        assertThat(limiter.admit(T0, 1_000)).isZero();
        assertThat(limiter.admit(T0, 1_000)).as("500 bytes left, 500 more take half a second").isEqualTo(500);
        assertThat(limiter.bytesWereShort()).isTrue();
        assertThat(limiter.admit(T0, 400)).as("a smaller frame still fits").isZero();
        assertThat(limiter.admit(T0 + 1_000, 1_000)).isZero();
    }

    @Test
    void shouldBeExhaustedAfterSoManyRefusalsAndForgiveAClientThatLetItRefill() {
        RateLimiter limiter = new RateLimiter(10, 2, 1_000_000, 1_000_000, 5, T0);
        limiter.admit(T0, 1);
        limiter.admit(T0, 1);
        for (int i = 0; i < 4; i++) {
            assertThat(limiter.admit(T0, 1)).isPositive();
        }
        assertThat(limiter.exhausted()).isFalse();
        // Quiet until both buckets are full again: the count starts over.
        assertThat(limiter.admit(T0 + 200, 1)).isZero();
        assertThat(limiter.refusedSinceFull()).isZero();
        limiter.admit(T0 + 200, 1);
        for (int i = 0; i < 5; i++) {
            limiter.admit(T0 + 200, 1);
        }
        assertThat(limiter.exhausted()).isTrue();
    }

    @Test
    void shouldNotCountFramesTakenBetweenRefusalsAsKeepingWithinTheLimit() {
        // A client at four times the rate: some of its frames pass, but it never lets the bucket fill.
        RateLimiter limiter = new RateLimiter(10, 2, 1_000_000, 1_000_000, 5, T0);
        long now = T0;
        for (int i = 0; i < 10 && !limiter.exhausted(); i++) {
            now += 50;
            limiter.admit(now, 1);
            limiter.admit(now, 1);
        }
        assertThat(limiter.exhausted()).isTrue();
    }

    @Test
    void shouldAddNothingWhenTheClockStepsBack() {
        RateLimiter limiter = new RateLimiter(1, 1, 1_000_000, 1_000_000, 5, T0);
        assertThat(limiter.admit(T0, 1)).isZero();
        assertThat(limiter.admit(T0 - 10_000, 1)).isPositive();
        assertThat(limiter.admit(T0 + 1_000, 1)).isZero();
    }
}
