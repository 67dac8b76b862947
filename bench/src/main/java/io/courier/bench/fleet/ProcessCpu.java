package io.courier.bench.fleet;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a process has spent so far, read from {@code /proc}: its CPU time (user + system, in
 * clock ticks, from {@code /proc/PID/stat}) and its threads' context switches (voluntary and
 * involuntary, summed over {@code /proc/PID/task/*}/status, so every wake-up of every thread
 * counts). Two readings bracket a measured window. A tick is normally 10 ms ({@code getconf
 * CLK_TCK} says 100), so over a 20-second window the figure is good to a fraction of a percent.
 */
public final class ProcessCpu {

    /** One reading of one process. */
    public record Reading(long cpuTicks, long contextSwitches) {

        /** What was spent between {@code earlier} and this reading. */
        public Reading since(Reading earlier) {
            return new Reading(cpuTicks - earlier.cpuTicks, contextSwitches - earlier.contextSwitches);
        }
    }

    private static final Pattern SWITCHES = Pattern.compile("(?m)^(?:non)?voluntary_ctxt_switches:\\s+(\\d+)$");

    /** Clock ticks per second, as {@code getconf CLK_TCK} says (100 when it cannot be asked). */
    public static final long TICKS_PER_SECOND = ticksPerSecond();

    private ProcessCpu() {
    }

    /** Reads process {@code pid} now. */
    public static Reading read(long pid) throws IOException {
        Path proc = Path.of("/proc", Long.toString(pid));
        long ticks = cpuTicks(Files.readString(proc.resolve("stat"), StandardCharsets.US_ASCII));
        long switches = 0;
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(proc.resolve("task"))) {
            for (Path task : tasks) {
                try {
                    switches += contextSwitches(Files.readString(task.resolve("status"), StandardCharsets.US_ASCII));
                } catch (NoSuchFileException ended) {
                    // The thread ended between the listing and the read; its switches are gone with it.
                }
            }
        }
        return new Reading(ticks, switches);
    }

    /**
     * utime + stime (fields 14 and 15) of a {@code /proc/PID/stat} line. The command name (field
     * 2) is in parentheses and may hold spaces and parentheses itself, so fields are counted from
     * the last ')'.
     *
     * @throws IllegalArgumentException when the line is not a stat line.
     */
    static long cpuTicks(String stat) {
        int close = stat.lastIndexOf(')');
        String[] fields = close < 0 ? new String[0] : stat.substring(close + 1).trim().split("\\s+");
        // After the name: state is field 3, so utime (14) and stime (15) are the 12th and 13th.
        if (fields.length < 13) {
            throw new IllegalArgumentException("Not a /proc/PID/stat line: '" + stat.strip() + "'");
        }
        try {
            return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Not a /proc/PID/stat line (utime, stime): '" + stat.strip() + "'", e);
        }
    }

    /** voluntary + nonvoluntary context switches of a {@code /proc/PID/task/TID/status} text. */
    static long contextSwitches(String status) {
        long sum = 0;
        Matcher m = SWITCHES.matcher(status);
        while (m.find()) {
            sum += Long.parseLong(m.group(1));
        }
        return sum;
    }

    /** {@code ticks} in milliseconds. */
    public static double millis(long ticks) {
        return ticks * 1000.0 / TICKS_PER_SECOND;
    }

    /**
     * What {@code total} costs per 1,000 of {@code messages}, or {@code null} when no message was
     * counted (nothing to divide by).
     */
    public static Double perThousand(double total, long messages) {
        return messages <= 0 ? null : total * 1000.0 / messages;
    }

    private static long ticksPerSecond() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0) {
                return Long.parseLong(out);
            }
        } catch (IOException | NumberFormatException e) {
            // No getconf: Linux's USER_HZ is 100 on every architecture we run on.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 100;
    }

    /** Reads {@code pid}, naming it in the failure. */
    static Reading readOrFail(String what, long pid) {
        try {
            return read(pid);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read /proc of " + what + " (process " + pid + ")", e);
        }
    }
}
