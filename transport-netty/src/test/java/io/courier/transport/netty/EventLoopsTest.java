package io.courier.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.courier.transport.TransportSettings;
import io.courier.transport.netty.EventLoops.Choice;
import io.courier.transport.netty.EventLoops.Io;
import io.netty.channel.EventLoopGroup;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The {@code io} option picks io_uring, epoll or NIO; an unavailable native transport falls back
 * (io_uring, epoll, NIO) and says why; the deprecated {@code epoll: false} still means NIO.
 * Availability is given per case (the kernel is what we cannot vary in a test), and the real one
 * is exercised by starting each flavour this machine has.
 */
class EventLoopsTest {

    private static Function<Io, Throwable> missing(Set<Io> absent) {
        return io -> absent.contains(io) ? new UnsatisfiedLinkError("no " + io.optionValue() + " here") : null;
    }

    private static final Function<Io, Throwable> ALL = missing(Set.of());

    @Test
    void shouldTakeEpollByDefaultAndNioWhereEpollIsMissingWithoutAWarning() {
        assertThat(EventLoops.choose(Map.of(), ALL)).isEqualTo(new Choice(Io.EPOLL, null));
        assertThat(EventLoops.choose(Map.of("io", "auto"), ALL)).isEqualTo(new Choice(Io.EPOLL, null));
        assertThat(EventLoops.choose(Map.of(), missing(EnumSet.of(Io.EPOLL, Io.IO_URING))))
            .isEqualTo(new Choice(Io.NIO, null));
    }

    @Test
    void shouldTakeWhatIsAskedForWhenAvailable() {
        assertThat(EventLoops.choose(Map.of("io", "io_uring"), ALL)).isEqualTo(new Choice(Io.IO_URING, null));
        assertThat(EventLoops.choose(Map.of("io", "epoll"), ALL)).isEqualTo(new Choice(Io.EPOLL, null));
        assertThat(EventLoops.choose(Map.of("io", "nio"), ALL)).isEqualTo(new Choice(Io.NIO, null));
        assertThat(EventLoops.choose(Map.of("io", "io_uring", "epoll", "true"), ALL).io()).isEqualTo(Io.IO_URING);
    }

    @Test
    void shouldFallBackFromIoUringToEpollToNioSayingWhy() {
        Choice toEpoll = EventLoops.choose(Map.of("io", "io_uring"), missing(EnumSet.of(Io.IO_URING)));
        assertThat(toEpoll.io()).isEqualTo(Io.EPOLL);
        assertThat(toEpoll.fallback()).isEqualTo("Option 'io: io_uring': io_uring is unavailable"
            + " (java.lang.UnsatisfiedLinkError: no io_uring here); using epoll instead");

        Choice toNio = EventLoops.choose(Map.of("io", "io_uring"), missing(EnumSet.of(Io.IO_URING, Io.EPOLL)));
        assertThat(toNio.io()).isEqualTo(Io.NIO);
        assertThat(toNio.fallback()).contains("io_uring is unavailable", "epoll is unavailable", "using nio instead");

        Choice epollToNio = EventLoops.choose(Map.of("io", "epoll"), missing(EnumSet.of(Io.EPOLL)));
        assertThat(epollToNio.io()).isEqualTo(Io.NIO);
        assertThat(epollToNio.fallback()).contains("epoll is unavailable (java.lang.UnsatisfiedLinkError: no epoll here)");
    }

    @Test
    void shouldKeepTheDeprecatedEpollFalseAsNio() {
        assertThat(EventLoops.choose(Map.of("epoll", "false"), ALL)).isEqualTo(new Choice(Io.NIO, null));
        assertThat(EventLoops.choose(Map.of("epoll", "false", "io", "nio"), ALL)).isEqualTo(new Choice(Io.NIO, null));
        assertThat(EventLoops.choose(Map.of("epoll", "false", "io", "auto"), ALL)).isEqualTo(new Choice(Io.NIO, null));
    }

    @Test
    void shouldRefuseAnUnknownFlavourAndAContradictionNamingTheKeys() {
        assertThatThrownBy(() -> EventLoops.choose(Map.of("io", "kqueue"), ALL))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("Option 'io' must be auto, io_uring, epoll, nio, was 'kqueue'");
        assertThatThrownBy(() -> EventLoops.choose(Map.of("io", "epoll", "epoll", "false"), ALL))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("Options 'epoll: false' and 'io: epoll' contradict each other; 'epoll' is deprecated: remove it"
                + " and keep 'io'");
        assertThatThrownBy(() -> EventLoops.choose(Map.of("epoll", "no"), ALL))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("Option 'epoll' must be true or false, was 'no'");
    }

    @Test
    void shouldRunEveryFlavourThisMachineHasAndFallBackFromTheOthers() throws Exception {
        for (Io io : Io.values()) {
            EventLoops loops = new EventLoops(new TransportSettings(TransportSettings.DEFAULT_HOST, 0, 1024,
                Map.of("io", io.optionValue())));
            Io expected = io;
            while (EventLoops.unavailabilityCause(expected) != null) {
                expected = expected.fallback();
            }
            assertThat(loops.io()).as("asked for %s", io).isEqualTo(expected);
            EventLoopGroup group = loops.group(1, "courier-test-" + io.optionValue());
            try {
                assertThat(group.submit(() -> 42).get(10, TimeUnit.SECONDS)).isEqualTo(42);
            } finally {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            }
        }
    }
}
