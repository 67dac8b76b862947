package io.courier.transport.netty;

import io.courier.plugin.PluginOption;
import io.courier.transport.TransportOptions;
import io.courier.transport.TransportSettings;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringDatagramChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the I/O flavour of a Netty transport — io_uring, epoll or NIO — from the {@code io}
 * option (and the deprecated {@code epoll} flag), and reads the thread and buffer options every
 * Netty transport shares (with {@link TransportOptions#MAX_UNREAD_OUTPUT_BYTES}, which
 * {@link NettyServer} checks against {@code write-buffer-high}).
 *
 * <p>{@code io: auto} (the default) is epoll where its native library loads, NIO elsewhere.
 * {@code io: io_uring} and {@code io: epoll} ask for that native transport; where it cannot be had
 * (another OS or CPU, a kernel without io_uring or with it switched off by
 * {@code kernel.io_uring_disabled}, a container that forbids its system calls) the next one down is
 * taken — io_uring, then epoll, then NIO — and a warning says why. {@code io: nio} is NIO always.
 */
public final class EventLoops {

    private static final Logger LOG = LoggerFactory.getLogger(EventLoops.class);

    /** An I/O flavour, by the name the {@code io} option gives it. */
    public enum Io {
        /** Linux io_uring (Netty's {@code netty-transport-native-io_uring}). */
        IO_URING("io_uring"),
        /** Linux epoll (Netty's {@code netty-transport-native-epoll}). */
        EPOLL("epoll"),
        /** The JDK's selectors: everywhere. */
        NIO("nio");

        private final String optionValue;

        Io(String optionValue) {
            this.optionValue = optionValue;
        }

        /** As written in configuration: {@code io_uring}, {@code epoll}, {@code nio}. */
        public String optionValue() {
            return optionValue;
        }

        /** The next flavour to try when this one is unavailable; NIO is its own. */
        Io fallback() {
            return this == IO_URING ? EPOLL : NIO;
        }
    }

    /** The {@code io} option's value that picks the best available flavour. */
    public static final String AUTO = "auto";
    /** {@code io}: {@code auto}, {@code io_uring}, {@code epoll} or {@code nio}. */
    public static final PluginOption IO = PluginOption.text("io", AUTO,
        "auto (epoll where it loads, else NIO), io_uring, epoll or nio; an unavailable native transport falls back"
            + " (io_uring, then epoll, then NIO) with a warning");
    /** {@code epoll}: {@code false} forces NIO. Deprecated: {@link #IO} says more. */
    public static final PluginOption EPOLL = PluginOption.flag("epoll", true,
        "deprecated, use io; false is io: nio");
    /** {@code threads}: I/O threads. */
    public static final PluginOption THREADS = PluginOption.positiveInt("threads", "I/O threads; CPU cores on a server");
    /** {@code write-buffer-high}: bytes. */
    public static final PluginOption WRITE_BUFFER_HIGH = PluginOption.positiveInt("write-buffer-high", 64 * 1024,
        "bytes queued on a connection above which it is unwritable and its mailbox waits");
    /** {@code write-buffer-low}: bytes. */
    public static final PluginOption WRITE_BUFFER_LOW = PluginOption.positiveInt("write-buffer-low", 32 * 1024,
        "bytes below which an unwritable connection is writable again");
    /** The options {@link NettyServer} reads, for a provider's {@code options()}. */
    public static final List<PluginOption> SERVER_OPTIONS = List.of(IO, EPOLL, THREADS, WRITE_BUFFER_HIGH,
        WRITE_BUFFER_LOW, TransportOptions.MAX_UNREAD_OUTPUT_BYTES);

    /**
     * What was chosen, and why not what was asked for.
     *
     * @param io       the flavour to run on.
     * @param fallback when it is not the one asked for, why (each unavailable flavour and its
     *                 cause); {@code null} otherwise.
     */
    public record Choice(Io io, String fallback) {
    }

    private final Io io;

    /**
     * @throws IllegalArgumentException when {@code io} is not one of its values, {@code epoll} is
     *     not {@code true} or {@code false}, or {@code epoll: false} contradicts {@code io}.
     */
    public EventLoops(TransportSettings settings) {
        Choice choice = choose(settings.options(), EventLoops::unavailabilityCause);
        if (choice.fallback() != null) {
            LOG.warn("{}", choice.fallback());
        }
        this.io = choice.io();
    }

    /**
     * The flavour {@code options} ask for, given what is available.
     *
     * @param unavailable a flavour's reason for being unavailable, or {@code null} when it is
     *                    available (NIO always is).
     * @throws IllegalArgumentException as the constructor.
     */
    public static Choice choose(Map<String, String> options, Function<Io, Throwable> unavailable) {
        String asked = IO.textIn(options);
        boolean epollFlag = EPOLL.booleanIn(options);
        Io wanted;
        if (asked.equals(AUTO)) {
            wanted = epollFlag ? null : Io.NIO;
        } else {
            wanted = Arrays.stream(Io.values()).filter(i -> i.optionValue().equals(asked)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("Option 'io' must be " + AUTO + ", "
                    + Arrays.stream(Io.values()).map(Io::optionValue).collect(Collectors.joining(", "))
                    + ", was '" + asked + "'"));
            if (!epollFlag && wanted != Io.NIO) {
                throw new IllegalArgumentException("Options 'epoll: false' and 'io: " + asked + "' contradict each other;"
                    + " 'epoll' is deprecated: remove it and keep 'io'");
            }
        }
        if (wanted == null) {
            // auto: epoll where it loads, quietly NIO elsewhere (as before the io option existed).
            return new Choice(unavailable.apply(Io.EPOLL) == null ? Io.EPOLL : Io.NIO, null);
        }
        StringBuilder why = null;
        Io trying = wanted;
        Throwable cause;
        while (trying != Io.NIO && (cause = unavailable.apply(trying)) != null) {
            why = why == null ? new StringBuilder("Option 'io: " + asked + "': ") : why.append("; ");
            why.append(trying.optionValue()).append(" is unavailable (").append(describe(cause)).append(")");
            trying = trying.fallback();
        }
        if (why != null) {
            why.append("; using ").append(trying.optionValue()).append(" instead");
        }
        return new Choice(trying, why == null ? null : why.toString());
    }

    /** Why {@code io} cannot be used on this machine, or {@code null} when it can. */
    public static Throwable unavailabilityCause(Io io) {
        return switch (io) {
            case IO_URING -> IoUring.isAvailable() ? null : IoUring.unavailabilityCause();
            case EPOLL -> Epoll.isAvailable() ? null : Epoll.unavailabilityCause();
            case NIO -> null;
        };
    }

    private static String describe(Throwable cause) {
        StringBuilder text = new StringBuilder(String.valueOf(cause));
        for (Throwable under = cause.getCause(); under != null && under != under.getCause(); under = under.getCause()) {
            text.append(", caused by ").append(under);
        }
        return text.toString();
    }

    /** What this runs on. */
    public Io io() {
        return io;
    }

    /** True on epoll (not on io_uring or NIO). */
    public boolean isEpoll() {
        return io == Io.EPOLL;
    }

    public EventLoopGroup group(int threads, String name) {
        IoHandlerFactory factory = switch (io) {
            case IO_URING -> IoUringIoHandler.newFactory();
            case EPOLL -> EpollIoHandler.newFactory();
            case NIO -> NioIoHandler.newFactory();
        };
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), factory);
    }

    public Class<? extends ServerChannel> serverChannel() {
        return switch (io) {
            case IO_URING -> IoUringServerSocketChannel.class;
            case EPOLL -> EpollServerSocketChannel.class;
            case NIO -> NioServerSocketChannel.class;
        };
    }

    public Class<? extends SocketChannel> channel() {
        return switch (io) {
            case IO_URING -> IoUringSocketChannel.class;
            case EPOLL -> EpollSocketChannel.class;
            case NIO -> NioSocketChannel.class;
        };
    }

    /** The datagram channel of this flavour (epoll's writes several flushed datagrams with one sendmmsg). */
    public Class<? extends DatagramChannel> datagramChannel() {
        return switch (io) {
            case IO_URING -> IoUringDatagramChannel.class;
            case EPOLL -> EpollDatagramChannel.class;
            case NIO -> NioDatagramChannel.class;
        };
    }

    /** The {@code threads} option, or {@code fallback}. */
    public static int threads(TransportSettings settings, int fallback) {
        return THREADS.intIn(settings.options(), fallback);
    }

    /** A positive integer option, or {@code fallback}. */
    public static int bytesOption(TransportSettings settings, String key, int fallback) {
        return PluginOption.positiveInt(key, fallback, key).intIn(settings.options());
    }
}
