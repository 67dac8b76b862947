package io.courier.client.crypto;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** Asserts that an operation fails with a given {@link Reason}. */
final class Reasons {
    private Reasons() {
    }

    static void assertFails(Reason reason, ThrowingCallable call) {
        assertThatThrownBy(call).isInstanceOfSatisfying(E2eException.class,
                e -> org.assertj.core.api.Assertions.assertThat(e.reason()).as(e.getMessage()).isEqualTo(reason));
    }
}
