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

    private final List<Long> serverPids;
    private final List<Long> loadPids;
    private final double windowSeconds;
    private ProcessCpu.Reading serverStart;
    // Each server process's own, when there are several (a cluster's nodes and its Redis).
    private final java.util.Map<Long, ProcessCpu.Reading> eachStart = new java.util.LinkedHashMap<>();
    private final java.util.Map<Long, ProcessCpu.Reading> eachSpent = new java.util.LinkedHashMap<>();
    private ProcessCpu.Reading loadStart;
    private ProcessCpu.Reading serverSpent;
    private ProcessCpu.Reading loadSpent;
    private PerfStat perf;
    private String perfFailure;

    /**
     * @param serverPids the processes under test (one, or a cluster's nodes and its Redis, summed);
     *                   none when they cannot be read (a broker elsewhere).
     */
    StepUsage(List<Long> serverPids, List<Long> loadPids, double windowSeconds) {
        this.serverPids = List.copyOf(serverPids);
        this.loadPids = List.copyOf(loadPids);
        this.windowSeconds = windowSeconds;
    }

    /** At the window's start. */
    synchronized void begin() {
        if (!serverPids.isEmpty()) {
            serverStart = sum("the server", serverPids);
            if (serverPids.size() > 1) {
                for (long pid : serverPids) {
                    eachStart.put(pid, ProcessCpu.readOrFail("a server process", pid));
                }
            }
            try {
                // Instructions of the first only: perf stat follows one process.
                perf = PerfStat.start(serverPids.get(0), windowSeconds);
            } catch (IOException e) {
                perfFailure = "perf stat could not start: " + e.getMessage();
            }
        }
        loadStart = loadReading();
    }

    /** At the window's end. */
    synchronized void end() {
        if (serverStart != null) {
            serverSpent = sum("the server", serverPids).since(serverStart);
            eachStart.forEach((pid, start) -> eachSpent.put(pid, ProcessCpu.readOrFail("a server process", pid)
                .since(start)));
        }
        if (loadStart != null) {
            loadSpent = loadReading().since(loadStart);
        }
    }

    private ProcessCpu.Reading loadReading() {
        return sum("a load generator", loadPids);
    }

    private static ProcessCpu.Reading sum(String what, List<Long> processes) {
        long ticks = 0;
        long switches = 0;
        for (long pid : processes) {
            ProcessCpu.Reading r = ProcessCpu.readOrFail(what, pid);
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
            JsonObject server = reading(serverSpent).put("pid", serverPids.get(0)).put("pids", serverPids);
            if (!eachSpent.isEmpty()) {
                io.vertx.core.json.JsonArray each = new io.vertx.core.json.JsonArray();
                eachSpent.forEach((pid, spent) -> each.add(reading(spent).put("pid", pid)));
                server.put("processes", each);
            }
            json.put("server", server);
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
                : serverPids.isEmpty() ? "the server's process is unknown" : "perf stat counted nothing");
        }
        return json.put("instructions", instructions);
    }

    private static JsonObject reading(ProcessCpu.Reading r) {
        return new JsonObject().put("cpuMs", ProcessCpu.millis(r.cpuTicks())).put("contextSwitches", r.contextSwitches());
    }
}
