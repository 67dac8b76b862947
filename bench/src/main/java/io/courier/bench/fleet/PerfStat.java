package io.courier.bench.fleet;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * {@code perf stat -e instructions} on a running process over a measured window, where the
 * machine supports it: many virtual machines expose no hardware counters, and perf then prints
 * {@code <not supported>}. {@link #UNSUPPORTED} says why not, once per process, so a run records
 * it instead of a number.
 */
public final class PerfStat {

    /** Why instructions cannot be counted here, or {@code null} when they can. */
    public static final String UNSUPPORTED = probe();

    private final Process process;

    private PerfStat(Process process) {
        this.process = process;
    }

    /**
     * Starts counting the instructions of {@code pid} for {@code seconds}; {@code null} when
     * {@link #UNSUPPORTED}.
     */
    static PerfStat start(long pid, double seconds) throws IOException {
        if (UNSUPPORTED != null || pid <= 0) {
            return null;
        }
        return new PerfStat(new ProcessBuilder("perf", "stat", "-x", ",", "-e", "instructions", "-p", Long.toString(pid),
            "--", "sleep", String.format("%.3f", seconds)).redirectErrorStream(true).start());
    }

    /** Waits for the count; empty when perf gave none. */
    OptionalLong await() throws IOException, InterruptedException {
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            return OptionalLong.empty();
        }
        return instructions(out);
    }

    /**
     * The instruction count in {@code perf stat -x,} output ({@code VALUE,UNIT,EVENT,…}); empty
     * when the line is missing or says {@code <not supported>} or {@code <not counted>}.
     */
    static OptionalLong instructions(String output) {
        for (String line : output.split("\n")) {
            List<String> fields = List.of(line.trim().split(","));
            if (fields.size() >= 3 && fields.get(2).startsWith("instructions")) {
                try {
                    return OptionalLong.of(Long.parseLong(fields.get(0).trim()));
                } catch (NumberFormatException notCounted) {
                    return OptionalLong.empty();
                }
            }
        }
        return OptionalLong.empty();
    }

    private static String probe() {
        try {
            Process p = new ProcessBuilder("perf", "stat", "-x", ",", "-e", "instructions", "--", "true")
                .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "perf stat did not answer within 30 s";
            }
            if (instructions(out).isPresent()) {
                return null;
            }
            return out.contains("<not supported>") ? "perf stat -e instructions: <not supported> on this machine "
                + "(no hardware counters, as in many virtual machines)" : "perf stat -e instructions failed: " + out.strip();
        } catch (IOException e) {
            return "perf is not installed";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while probing perf";
        }
    }
}
