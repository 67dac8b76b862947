package io.courier.client;

import io.courier.transport.proto.Frame;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Frame-aware mischief on the client-to-server half of a {@link ChaosProxy}: it drops single
 * {@code Send} frames, holds others back so that later ones overtake them (the server then stores
 * and delivers them in another order than they were sent), and cuts the connection now and then.
 * A dropped Send is never answered, and the SDK sends what is unanswered again on its next
 * connection, so every drop is followed by a cut (after a few more Sends have passed, or after
 * {@link Limits#cutAfterDropMs} when none come). Everything else passes through byte for byte.
 *
 * <p>Each kind of mischief is bounded by a count ({@link Limits}); once spent, frames pass through
 * unharmed, so a test always finishes. The decisions come from one {@link Random} with a seed
 * that the owner prints: the same seed makes the same decisions for the same sequence of Send
 * frames (which frames the SDK sends when still depends on timing, so a replay is close, not
 * exact).
 */
final class FrameChaos implements AutoCloseable {

    /**
     * How much mischief, at most.
     *
     * @param maxDrops       Send frames dropped, in all
     * @param maxHolds       Send frames held back, in all
     * @param maxCuts        connections cut at random (cuts after drops are not counted here)
     * @param dropChance     chance that a Send frame is dropped, while drops are left
     * @param holdChance     chance that a Send frame is held back, while holds are left
     * @param cutChance      chance that the connection is cut after a frame, while cuts are left
     * @param maxOvertakers  a held frame goes on after 1 to this many later Send frames passed it
     * @param holdMs         a held frame goes on after this long when no later Sends come
     * @param cutAfterDropMs the connection is cut this long after a drop when no later Sends come
     */
    record Limits(int maxDrops, int maxHolds, int maxCuts, double dropChance, double holdChance, double cutChance,
                  int maxOvertakers, long holdMs, long cutAfterDropMs) {
    }

    private final Random random;
    private final Limits limits;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "frame-chaos-timer");
        t.setDaemon(true);
        return t;
    });
    private int dropsLeft;
    private int holdsLeft;
    private int cutsLeft;
    final AtomicInteger sends = new AtomicInteger();
    final AtomicInteger drops = new AtomicInteger();
    final AtomicInteger holds = new AtomicInteger();
    /** Held frames that went on after at least one later Send had overtaken them. */
    final AtomicInteger overtaken = new AtomicInteger();
    /** Held frames that were still held when their connection was cut (lost like a drop). */
    final AtomicInteger lostInCuts = new AtomicInteger();
    final AtomicInteger cuts = new AtomicInteger();

    FrameChaos(long seed, Limits limits) {
        this.random = new Random(seed);
        this.limits = limits;
        this.dropsLeft = limits.maxDrops();
        this.holdsLeft = limits.maxHolds();
        this.cutsLeft = limits.maxCuts();
    }

    /** Stops all further mischief: frames held now still go on, nothing else is touched. */
    synchronized void stop() {
        dropsLeft = 0;
        holdsLeft = 0;
        cutsLeft = 0;
    }

    /** What happened, for the test's output. */
    String summary() {
        return "Send frames " + sends + ", dropped " + drops + ", held back " + holds + " (overtaken " + overtaken
            + ", lost in cuts " + lostInCuts + "), connections cut " + cuts;
    }

    private enum Verdict { PASS, DROP, HOLD }

    private synchronized Verdict judge() {
        double r = random.nextDouble();
        if (r < limits.dropChance() && dropsLeft > 0) {
            dropsLeft--;
            return Verdict.DROP;
        }
        if (r < limits.dropChance() + limits.holdChance() && holdsLeft > 0) {
            holdsLeft--;
            return Verdict.HOLD;
        }
        return Verdict.PASS;
    }

    private synchronized int overtakers() {
        return 1 + random.nextInt(limits.maxOvertakers());
    }

    private synchronized boolean cutNow() {
        if (cutsLeft > 0 && random.nextDouble() < limits.cutChance()) {
            cutsLeft--;
            return true;
        }
        return false;
    }

    /** The mischief for one connection: {@code toServer} is where frames go, {@code cut} ends it. */
    Lane lane(OutputStream toServer, Runnable cut) {
        return new Lane(toServer, cut);
    }

    final class Lane {
        private final OutputStream toServer;
        private final Runnable cut;
        private final List<Held> held = new ArrayList<>();
        private boolean gone;
        /** After a drop: how many more Sends may pass before the cut; -1 when no drop waits. */
        private int sendsUntilCut = -1;

        private final class Held {
            final byte[] raw;
            int remaining;
            boolean passed;

            Held(byte[] raw, int remaining) {
                this.raw = raw;
                this.remaining = remaining;
            }
        }

        private Lane(OutputStream toServer, Runnable cut) {
            this.toServer = toServer;
            this.cut = cut;
        }

        /** One frame from the client, {@code raw} with its length prefix, as read. */
        synchronized void frame(Frame frame, byte[] raw) throws IOException {
            if (gone) {
                return;
            }
            if (!frame.hasSend()) {
                toServer.write(raw);
                return;
            }
            sends.incrementAndGet();
            switch (judge()) {
                case DROP -> {
                    drops.incrementAndGet();
                    if (sendsUntilCut < 0) {
                        sendsUntilCut = overtakers();
                        timer.schedule(this::cutForDrop, limits.cutAfterDropMs(), TimeUnit.MILLISECONDS);
                    }
                    return;
                }
                case HOLD -> {
                    holds.incrementAndGet();
                    Held h = new Held(raw, overtakers());
                    held.add(h);
                    timer.schedule(() -> release(h), limits.holdMs(), TimeUnit.MILLISECONDS);
                    return;
                }
                case PASS -> toServer.write(raw);
            }
            for (Iterator<Held> it = held.iterator(); it.hasNext(); ) {
                Held h = it.next();
                h.passed = true;
                if (--h.remaining == 0) {
                    it.remove();
                    toServer.write(h.raw);
                    overtaken.incrementAndGet();
                }
            }
            if (sendsUntilCut > 0 && --sendsUntilCut == 0) {
                end();
            } else if (cutNow()) {
                end();
            }
        }

        private synchronized void release(Held h) {
            if (!gone && held.remove(h)) {
                try {
                    toServer.write(h.raw);
                    if (h.passed) {
                        overtaken.incrementAndGet();
                    }
                } catch (IOException e) {
                    end(); // the connection broke meanwhile: the frame is lost with it
                }
            }
        }

        private synchronized void cutForDrop() {
            if (!gone) {
                end();
            }
        }

        /** Cuts the connection: what is still held is lost with it, as on a real broken link. */
        private synchronized void end() {
            if (gone) {
                return;
            }
            gone = true;
            lostInCuts.addAndGet(held.size());
            held.clear();
            cuts.incrementAndGet();
            cut.run();
        }

        /** The connection closed (either side): nothing more goes to the server. */
        synchronized void closed() {
            gone = true;
            lostInCuts.addAndGet(held.size());
            held.clear();
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
