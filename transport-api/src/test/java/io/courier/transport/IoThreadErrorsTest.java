package io.courier.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.transport.IoThreadErrors.Kind;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class IoThreadErrorsTest {

    /** What Netty throws when its allocator runs out of direct memory; this module knows no Netty. */
    private static final class OutOfDirectMemoryError extends OutOfMemoryError {
        OutOfDirectMemoryError(String message) {
            super(message);
        }
    }

    @Test
    void shouldTreatDirectMemoryExhaustionAndStackOverflowAsRecoverable() {
        assertThat(IoThreadErrors.classify(new OutOfDirectMemoryError("failed to allocate 4194304 byte(s) of direct "
            + "memory (used: 67108864, max: 67108864)"))).isEqualTo(Kind.OUT_OF_DIRECT_MEMORY);
        assertThat(IoThreadErrors.classify(new OutOfMemoryError("Cannot reserve 1048576 bytes of direct buffer memory "
            + "(allocated: 67108864, limit: 67108864)"))).isEqualTo(Kind.OUT_OF_DIRECT_MEMORY);
        assertThat(IoThreadErrors.classify(new StackOverflowError())).isEqualTo(Kind.STACK_OVERFLOW);
        assertThat(Kind.OUT_OF_DIRECT_MEMORY.recoverable()).isTrue();
        assertThat(Kind.STACK_OVERFLOW.recoverable()).isTrue();
    }

    @Test
    void shouldTreatEveryOtherErrorAsFatal() {
        assertThat(IoThreadErrors.classify(new OutOfMemoryError("Java heap space"))).isEqualTo(Kind.FATAL);
        assertThat(IoThreadErrors.classify(new OutOfMemoryError("Metaspace"))).isEqualTo(Kind.FATAL);
        assertThat(IoThreadErrors.classify(new NoClassDefFoundError("io/courier/Gone"))).isEqualTo(Kind.FATAL);
        assertThat(IoThreadErrors.classify(new InternalError())).isEqualTo(Kind.FATAL);
        assertThat(Kind.FATAL.recoverable()).isFalse();
        assertThat(Kind.OUT_OF_DIRECT_MEMORY.label()).isEqualTo("out_of_direct_memory");
    }

    @Test
    void shouldEscalateOnlyWhatIsFatalToTheThreadsHandler() throws Exception {
        AtomicReference<Throwable> escalated = new AtomicReference<>();
        Thread thread = new Thread(() -> {
            IoThreadErrors.escalate(new StackOverflowError());
            IoThreadErrors.escalate(new OutOfMemoryError("Cannot reserve 1 bytes of direct buffer memory"));
            IoThreadErrors.escalate(new OutOfMemoryError("Java heap space"));
        });
        thread.setUncaughtExceptionHandler((t, error) -> escalated.set(error));
        thread.start();
        thread.join();
        assertThat(escalated.get()).isInstanceOf(OutOfMemoryError.class).hasMessage("Java heap space");
    }
}
