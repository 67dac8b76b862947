package io.courier.transport;

import io.courier.plugin.PluginOption;

/**
 * Options every transport declares in its {@link TransportProvider#options()}, with one meaning and
 * one default across transports.
 */
public final class TransportOptions {

    /**
     * {@code max-unread-output-bytes}: the most bytes that may wait to be sent to one client before
     * the transport closes it with a fatal {@code SLOW_CONSUMER}. What waits is, on TCP and
     * WebSocket, the connection's outbound buffer (written, not yet taken by the kernel); on UDP,
     * the datagrams sent and not acknowledged plus those queued behind the window; on long
     * polling, the frames no poll's cursor has acknowledged yet.
     *
     * <p>The default, 4 MiB, is four maximum-size frames. A client that reads, however slowly,
     * never comes near it: its mailbox stops writing at the transport's high-water mark (64 KiB
     * on TCP and WebSocket), so what waits for it is at most that, one frame being written, and
     * the small replies to what it sent (single ticks, errors). Only a client that keeps sending
     * and has stopped reading — whose replies are written whether it reads or not — reaches it.
     * Each transport refuses to start with a limit so low that one maximum-size frame above its
     * high-water mark would pass it.
     */
    public static final PluginOption MAX_UNREAD_OUTPUT_BYTES = PluginOption.positiveInt("max-unread-output-bytes",
        4 * 1024 * 1024, "bytes waiting to be sent to a client that is not reading, above which it is closed with "
            + "SLOW_CONSUMER");

    private TransportOptions() {
    }

    /**
     * The {@link #MAX_UNREAD_OUTPUT_BYTES} of {@code settings}, checked against the least it may be.
     *
     * @param highWaterBytes what may wait before the transport reports itself unwritable.
     * @throws IllegalArgumentException when below one maximum frame above {@code highWaterBytes},
     *     naming both.
     */
    public static int maxUnreadOutputBytes(TransportSettings settings, long highWaterBytes) {
        int limit = MAX_UNREAD_OUTPUT_BYTES.intIn(settings.options());
        long least = highWaterBytes + settings.maxFrameBytes();
        if (limit < least) {
            throw new IllegalArgumentException("Option '" + MAX_UNREAD_OUTPUT_BYTES.name() + "' (" + limit
                + ") must be at least " + least + ": the high-water mark (" + highWaterBytes
                + ") plus max-frame-bytes (" + settings.maxFrameBytes() + "), or a client that reads would be closed");
        }
        return limit;
    }
}
