package io.courier.bench.cli;

import io.courier.bench.fleet.Fleet;
import java.io.PrintStream;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The progress bar on stderr while a step runs: a redrawn line on a terminal, a line every few
 * seconds otherwise (CI logs stay readable).
 */
final class Progress implements Consumer<Fleet.Progress> {

    private static final int WIDTH = 30;

    private final PrintStream err = System.err;
    private final boolean terminal = System.console() != null;
    private final String label;
    private long lastPrinted;

    Progress(String label) {
        this.label = label;
    }

    @Override
    public void accept(Fleet.Progress p) {
        long now = System.nanoTime();
        if (!terminal && now - lastPrinted < TimeUnit.SECONDS.toNanos(5)) {
            return;
        }
        lastPrinted = now;
        double done = p.expected() == 0 ? 1 : Math.min(1, p.sent() / (double) p.expected());
        int filled = (int) Math.round(done * WIDTH);
        String line = String.format("%-28s [%s%s] %3.0f%%  sent %,d  received %,d%s", label, "#".repeat(filled),
            ".".repeat(WIDTH - filled), done * 100, p.sent(), p.received(),
            p.failed() > 0 ? String.format("  failed %,d", p.failed()) : "");
        if (terminal) {
            err.print("\r" + line);
        } else {
            err.println(line);
        }
    }

    /** Ends the bar's line. */
    void done(String summary) {
        if (terminal) {
            err.print("\r\033[2K");
        }
        err.println(String.format("%-28s %s", label, summary));
    }
}
