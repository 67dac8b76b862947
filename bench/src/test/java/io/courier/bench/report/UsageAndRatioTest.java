package io.courier.bench.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.courier.bench.cli.CompareCommand;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class UsageAndRatioTest {

    /** {@code count} samples: base, 2 × base, … count × base nanoseconds. */
    private static Histogram latencies(long base) {
        Histogram h = new Histogram(3);
        for (int i = 1; i <= 1_000; i++) {
            h.recordValue(base * i);
        }
        return h;
    }

    private static JsonObject usage(double serverCpuMs, long switches, double loadCpuMs) {
        return new JsonObject().put("windowSeconds", 20.0).put("ticksPerSecond", 100)
            .put("server", new JsonObject().put("cpuMs", serverCpuMs).put("contextSwitches", switches))
            .put("loadGenerators", new JsonObject().put("cpuMs", loadCpuMs))
            .put("instructions", new JsonObject().put("supported", false).put("reason", "no counters here"));
    }

    private static BenchResult rtt() {
        return rtt(3000);
    }

    private static BenchResult rtt(double tcpCpuMs) {
        BenchResult result = BenchResult.begin("rtt", List.of("rtt"), new JsonObject());
        JsonObject tcp = result.addRun("tcp", "courier", new JsonObject(), Tables.RTT, 2000, 1000, 1000, 1000, 0, "", 2000,
            latencies(300), latencies(100), latencies(10));
        BenchResult.addUsage(tcp, usage(tcpCpuMs, 40_000, 500), 80_000);
        JsonObject mosquitto = result.addRun("mosquitto", "peer", new JsonObject(), Tables.RTT, 2000, 1000, 1000, 1000, 0,
            "", 2000, latencies(100), latencies(50), latencies(10));
        BenchResult.addUsage(mosquitto, usage(600, 8_000, 500), 80_000);
        return result;
    }

    @Test
    void shouldDivideUsageByTheMessagesCarriedPerThousand() {
        JsonObject run = BenchResult.addUsage(new JsonObject(), usage(3000, 40_000, 500), 80_000);
        JsonObject per = run.getJsonObject("usage").getJsonObject("perThousandMessages");
        assertThat(per.getDouble("serverCpuMs")).isCloseTo(37.5, within(1e-9));
        assertThat(per.getDouble("serverContextSwitches")).isCloseTo(500, within(1e-9));
        assertThat(per.getDouble("loadGeneratorCpuMs")).isCloseTo(6.25, within(1e-9));
        assertThat(per.containsKey("serverInstructions")).isFalse();
        assertThat(run.getJsonObject("usage").getLong("messages")).isEqualTo(80_000);
    }

    @Test
    void shouldCountInstructionsPerThousandWherePerfCountedThem() {
        JsonObject usage = usage(1, 1, 1).put("instructions", new JsonObject().put("supported", true).put("server", 4_000_000L));
        JsonObject per = BenchResult.addUsage(new JsonObject(), usage, 2_000).getJsonObject("usage")
            .getJsonObject("perThousandMessages");
        assertThat(per.getDouble("serverInstructions")).isCloseTo(2_000_000, within(1e-6));
    }

    @Test
    void shouldLeaveUsageUndividedWhenNoMessageWasCarried() {
        JsonObject per = BenchResult.addUsage(new JsonObject(), usage(10, 10, 10), 0).getJsonObject("usage")
            .getJsonObject("perThousandMessages");
        assertThat(per.getValue("serverCpuMs")).isNull();
        assertThat(Tables.perThousand(new JsonObject().put("usage", new JsonObject().put("perThousandMessages", per)),
            "serverCpuMs")).isEqualTo("–");
    }

    @Test
    void shouldDivideEachSystemByTheMosquittoRunAtTheSameRate() {
        List<JsonObject> runs = Tables.rttRuns(rtt());
        assertThat(Tables.peerName(runs)).isEqualTo("mosquitto");
        assertThat(Tables.toPeer(runs, runs.get(0), "p50")).isEqualTo("3.00×");
        assertThat(Tables.toPeer(runs, runs.get(0), "p99")).isEqualTo("3.00×");
        assertThat(Tables.toPeer(runs, runs.get(1), "p50")).isEqualTo("1.00×");
        JsonObject otherRate = runs.get(0).copy().put("rate", 4000.0);
        assertThat(Tables.toPeer(runs, otherRate, "p50")).isEqualTo("–");
    }

    @Test
    void shouldShowTheRoundTripTableWithRatiosAndCpuAndPlotCpu() {
        BenchResult result = rtt();
        String text = Tables.render(result);
        assertThat(text).contains("Round trip", "round trips/s", "p50 ÷ mosquitto", "server CPU ms/1k msgs",
            "no counters here");
        assertThat(text.lines().filter(l -> l.startsWith("tcp")).findFirst().orElseThrow())
            .contains("3.00×", "37.5", "500.0", "6.3");
        // How CPU was counted is an explanation under the table, not a warning.
        assertThat(text).contains("  CPU is user + system time from /proc/PID/stat").doesNotContain("! CPU");
        assertThat(HtmlReport.render(result)).contains("Round-trip time at 2,000 round trips/s",
            "CPU time per 1,000 messages", "tcp rtt @ 2,000 server");
    }

    @Test
    void shouldCompareServerCpuPerThousandBetweenRuns() {
        String compared = CompareCommand.compare(rtt(3000), rtt(6000));
        // Same latencies, twice the CPU: 37.5 against 75.0 ms per 1,000 messages.
        assertThat(compared).containsPattern("tcp\\s+rtt\\s+2,000.*37\\.5\\s+75\\.0\\s+2\\.00×");
    }

    @Test
    void shouldDivideTheSustainedRateByMosquittos() {
        BenchResult result = BenchResult.begin("throughput", List.of("throughput"), new JsonObject());
        result.addRun("tcp", "courier", new JsonObject(), "throughput", 30_000, 1000, 1000, 1000, 0, "", 30_000,
            latencies(100), latencies(50), latencies(10));
        result.addRun("mosquitto", "peer", new JsonObject(), "throughput", 20_000, 1000, 1000, 1000, 0, "", 20_000,
            latencies(100), latencies(50), latencies(10));
        result.addThroughput(new JsonObject().put("name", "tcp").put("boundMs", 10.0).put("best", 30_000.0)
            .put("bestP99", 1_000_000L));
        result.addThroughput(new JsonObject().put("name", "mosquitto").put("boundMs", 10.0).put("best", 20_000.0)
            .put("bestP99", 1_000_000L));
        String table = Tables.render(result);
        assertThat(table).contains("÷ mosquitto");
        assertThat(table.lines().filter(l -> l.startsWith("tcp")).findFirst().orElseThrow()).contains("1.50×");
    }
}
