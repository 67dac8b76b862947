package io.courier.router.internal;

/**
 * The rate limits of one connection: two token buckets, one counting frames and one counting
 * their encoded bytes, each with a rate per second and a burst. Only the connection's I/O thread
 * calls it, so it has no locks; it allocates nothing and reads time only from its caller.
 *
 * <p>Tokens are kept in thousandths, so that a rate of R per second refills exactly R thousandths
 * per millisecond of the caller's millisecond clock: no fractions, no drift. A frame is taken
 * when both buckets hold what it costs (one frame, its bytes) and then pays both; a refused frame
 * pays nothing. A connection that goes on after being refused is counted: once
 * {@code closeAfter} of its frames have been refused since both buckets were last full, it is
 * {@link #exhausted()} and the router closes it. A client that pauses until its buckets refill
 * starts that count again.
 */
public final class RateLimiter {

    private static final long MILLI = 1_000;

    /**
     * The rates and bursts, shared by every connection's limiter so that each holds only its
     * buckets' levels.
     *
     * @param closeAfter refused frames, since both buckets were last full, after which a
     *                   connection is {@link #exhausted()}.
     */
    public record Limits(int framesPerSecond, int frameBurst, int bytesPerSecond, int byteBurst, long closeAfter) {
    }

    private final Limits limits;
    // Thousandths of a frame and of a byte.
    private long frames;
    private long bytes;
    private long lastMs;
    private long refusedSinceFull;
    private boolean bytesWereShort;

    /** @param nowMs the caller's clock now: both buckets start full. */
    public RateLimiter(Limits limits, long nowMs) {
        this.limits = limits;
        this.frames = limits.frameBurst() * MILLI;
        this.bytes = limits.byteBurst() * MILLI;
        this.lastMs = nowMs;
    }

    /** A limiter with its own limits (tests). */
    RateLimiter(int framesPerSecond, int frameBurst, int bytesPerSecond, int byteBurst, long closeAfter, long nowMs) {
        this(new Limits(framesPerSecond, frameBurst, bytesPerSecond, byteBurst, closeAfter), nowMs);
    }

    /**
     * Takes a frame of {@code frameBytes} encoded bytes if both buckets allow it.
     *
     * @return 0 when taken; otherwise how many milliseconds from {@code nowMs} until this frame
     *         would be taken (at least 1), and nothing was taken.
     */
    public long admit(long nowMs, int frameBytes) {
        refill(nowMs);
        long byteCost = frameBytes * MILLI;
        boolean framesShort = frames < MILLI;
        boolean bytesShort = bytes < byteCost;
        if (!framesShort && !bytesShort) {
            frames -= MILLI;
            bytes -= byteCost;
            return 0;
        }
        refusedSinceFull++;
        bytesWereShort = bytesShort;
        long wait = framesShort ? ceilDiv(MILLI - frames, limits.framesPerSecond()) : 0;
        if (bytesShort) {
            wait = Math.max(wait, ceilDiv(Math.min(byteCost, limits.byteBurst() * MILLI) - bytes,
                limits.bytesPerSecond()));
        }
        return Math.max(1, wait);
    }

    /** True when the last refusal was for bytes (false: for frames). */
    public boolean bytesWereShort() {
        return bytesWereShort;
    }

    /** True once {@code closeAfter} frames have been refused since both buckets were last full. */
    public boolean exhausted() {
        return refusedSinceFull >= limits.closeAfter();
    }

    /** Frames refused since both buckets were last full. */
    public long refusedSinceFull() {
        return refusedSinceFull;
    }

    private void refill(long nowMs) {
        long elapsed = nowMs - lastMs;
        if (elapsed <= 0) {
            // Same millisecond, or a clock that stepped back: nothing to add, and no debt either.
            return;
        }
        lastMs = nowMs;
        long frameCapacity = limits.frameBurst() * MILLI;
        long byteCapacity = limits.byteBurst() * MILLI;
        frames = fill(frames, frameCapacity, limits.framesPerSecond(), elapsed);
        bytes = fill(bytes, byteCapacity, limits.bytesPerSecond(), elapsed);
        if (frames == frameCapacity && bytes == byteCapacity) {
            refusedSinceFull = 0;
        }
    }

    /** {@code level} after {@code elapsed} ms at {@code perMs} thousandths a ms, at most {@code capacity}. */
    private static long fill(long level, long capacity, long perMs, long elapsed) {
        long missing = capacity - level;
        // elapsed * perMs cannot overflow below this bound: it stays below capacity.
        return elapsed >= missing / perMs + 1 ? capacity : level + elapsed * perMs;
    }

    private static long ceilDiv(long amount, long perMs) {
        return (amount + perMs - 1) / perMs;
    }
}
