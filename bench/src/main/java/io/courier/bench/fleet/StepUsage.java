package io.courier.bench.fleet;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.util.List;
import java.util.OptionalLong;

/**
 * What the processes of a step spent over its measured window: CPU time and context switches of
 * the server (the Courier JVM, mosquitto, the floor's middle process) and, summed, of the load
 * generators, read from {@code /proc} at the window's start and end; and the server's instruction
 * count from {@code perf stat} where the machine has hardware counters.
 */
final class StepUsage {

    private final long serverPid;
    private final List<Long> loadPids;
    private final double windowSeconds;
    private ProcessCpu.Reading serverStart;
    private ProcessCpu.Reading loadStart;
    private ProcessCpu.Reading serverSpent;
    private ProcessCpu.Reading loadSpent;
    private PerfStat perf;
    private String perfFailure;

    /** @param serverPid the process under test, or -1 when it cannot be read (a broker elsewhere). */
    StepUsage(long serverPid, List<Long> loadPids, double windowSeconds) {
        this.serverPid = serverPid;
        this.loadPids = List.copyOf(loadPids);
        this.windowSeconds = windowSeconds;
    }

    /** At the window's start. */
    synchronized void begin() {
        if (serverPid > 0) {
            serverStart = ProcessCpu.readOrFail("the server", serverPid);
            try {
                perf = PerfStat.start(serverPid, windowSeconds);
            } catch (IOException e) {
                perfFailure = "perf stat could not start: " + e.getMessage();
            }
        }
        loadStart = loadReading();
    }

    /** At the window's end. */
    synchronized void end() {
        if (serverStart != null) {
            serverSpent = ProcessCpu.readOrFail("the server", serverPid).since(serverStart);
        }
        if (loadStart != null) {
            loadSpent = loadReading().since(loadStart);
        }
    }

    private ProcessCpu.Reading loadReading() {
        long ticks = 0;
        long switches = 0;
        for (long pid : loadPids) {
            ProcessCpu.Reading r = ProcessCpu.readOrFail("a load generator", pid);
            ticks += r.cpuTicks();
            switches += r.contextSwitches();
        }
        return new ProcessCpu.Reading(ticks, switches);
    }

    /**
     * The totals, for a step's result: {@code server} and {@code loadGenerators} each with
     * {@code cpuMs} and {@code contextSwitches} (absent when not read), and {@code instructions}:
     * the server's count, or why there is none.
     */
    synchronized JsonObject totals() throws IOException, InterruptedException {
        JsonObject json = new JsonObject().put("windowSeconds", windowSeconds)
            .put("ticksPerSecond", ProcessCpu.TICKS_PER_SECOND);
        if (serverSpent != null) {
            json.put("server", reading(serverSpent).put("pid", serverPid));
        }
        if (loadSpent != null) {
            json.put("loadGenerators", reading(loadSpent).put("processes", loadPids.size()));
        }
        JsonObject instructions = new JsonObject();
        OptionalLong counted = perf == null ? OptionalLong.empty() : perf.await();
        if (counted.isPresent()) {
            instructions.put("supported", true).put("server", counted.getAsLong());
        } else {
            instructions.put("supported", false).put("reason", perfFailure != null ? perfFailure
                : PerfStat.UNSUPPORTED != null ? PerfStat.UNSUPPORTED
                : serverPid <= 0 ? "the server's process is unknown" : "perf stat counted nothing");
        }
        return json.put("instructions", instructions);
    }

    private static JsonObject reading(ProcessCpu.Reading r) {
        return new JsonObject().put("cpuMs", ProcessCpu.millis(r.cpuTicks())).put("contextSwitches", r.contextSwitches());
    }
}
