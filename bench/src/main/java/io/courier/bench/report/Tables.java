package io.courier.bench.report;

import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Optional;

/** The tables of a result — latency, throughput, density — for the terminal and the report alike. */
public final class Tables {

    /** The floor every other system's latency is divided by, when it was measured in the same run. */
    public static final String FLOOR = "relay";

    /** A peer's runs have this kind; other systems are divided by its figures from the same run. */
    public static final String PEER = "peer";

    /** The purpose of a round-trip step. */
    public static final String RTT = "rtt";

    /**
     * A step's send lag is flagged when its p99 is at least this share of the step's one-way p99:
     * every message's one-way time includes its own send lag (latency counts from the schedule),
     * so that much of the tail may be the generator's rather than the system's.
     */
    public static final double LAG_SHARE = 0.25;

    /**
     * …and at least this much (0.1 ms): below it the lag is a park's timer slack, which every
     * system pays alike and only {@code --spin-micros} removes.
     */
    public static final long LAG_FLOOR_NANOS = 100_000;

    private Tables() {
    }

    /** Everything in {@code result} that has a table, as text. */
    public static String render(BenchResult result) {
        StringBuilder out = new StringBuilder();
        List<JsonObject> latency = latencyRuns(result);
        if (!latency.isEmpty()) {
            out.append(latency(latency).text());
        }
        List<JsonObject> rtt = rttRuns(result);
        if (!rtt.isEmpty()) {
            out.append(out.isEmpty() ? "" : "\n").append(rtt(rtt).text());
        }
        if (!result.throughput().isEmpty()) {
            out.append('\n').append(throughput(result).text());
        }
        if (!result.density().isEmpty()) {
            out.append('\n').append(density(result.density()).text());
        }
        return out.toString();
    }

    static List<JsonObject> latencyRuns(BenchResult result) {
        return result.runs().stream().filter(r -> "latency".equals(r.getString("purpose"))).toList();
    }

    static List<JsonObject> rttRuns(BenchResult result) {
        return result.runs().stream().filter(r -> RTT.equals(r.getString("purpose"))).toList();
    }

    static Table latency(List<JsonObject> runs) {
        return timed(runs, "One-way latency, sender → receiver, in ms, timed from each message's scheduled send time"
            + " (open loop: stalls are not hidden)", "rate/s");
    }

    static Table rtt(List<JsonObject> runs) {
        return timed(runs, "Round trip, A → B, B replies at once, B → A, in ms, timed from A's scheduled send time"
            + " (open loop; both legs with every tick; CPU per 1,000 messages counts both legs)", "round trips/s");
    }

    private static Table timed(List<JsonObject> runs, String title, String rateHeader) {
        String peer = peerName(runs);
        Table table = new Table(title, new String[] {"system", rateHeader, "achieved/s", "samples", "p50",
            "p90", "p99", "p99.9", "p99.99", "max", "accepted p50", "accepted p99", "send lag p99", "lost",
            "p50 ÷ " + FLOOR, "p99 ÷ " + FLOOR, "p50 ÷ " + peer, "p99 ÷ " + peer, "server CPU ms/1k msgs",
            "server ctx sw/1k msgs", "load gen CPU ms/1k msgs"});
        for (JsonObject run : runs) {
            JsonObject oneWay = run.getJsonObject("oneWay");
            JsonObject p = oneWay.getJsonObject("percentiles");
            long n = oneWay.getLong("count", 0L);
            JsonObject accepted = run.getJsonObject("toAccepted");
            JsonObject a = accepted == null ? null : accepted.getJsonObject("percentiles");
            long na = accepted == null ? 0 : accepted.getLong("count", 0L);
            Optional<JsonObject> floor = runs.stream().filter(r -> r.getString("name").equals(FLOOR)
                && r.getDouble("rate").equals(run.getDouble("rate"))).findFirst();
            double floor50 = floor.map(f -> f.getJsonObject("oneWay").getJsonObject("percentiles").getLong("p50")).orElse(0L);
            double floor99 = floor.map(f -> f.getJsonObject("oneWay").getJsonObject("percentiles").getLong("p99")).orElse(0L);
            boolean self = run.getString("name").equals(FLOOR);
            String lag = Table.ms(sendLagP99(run));
            table.row(run.getString("name"), Table.count(run.getDouble("rate")), Table.count(run.getDouble("achievedRate")),
                Table.count(n), pct(p, "p50", n), pct(p, "p90", n), pct(p, "p99", n), pct(p, "p99.9", n),
                pct(p, "p99.99", n), n == 0 ? "–" : Table.ms(p.getLong("max")),
                a == null ? "–" : pct(a, "p50", na), a == null ? "–" : pct(a, "p99", na),
                lagWarning(run).isPresent() ? Table.flag(lag) : lag,
                run.getLong("lost") + (run.getLong("failed") > 0 ? " (+" + run.getLong("failed") + " failed)" : ""),
                self ? "1.00×" : Table.ratio(p.getLong("p50"), floor50),
                self ? "1.00×" : Table.ratio(p.getLong("p99"), floor99),
                toPeer(runs, run, "p50"), toPeer(runs, run, "p99"),
                perThousand(run, "serverCpuMs"), perThousand(run, "serverContextSwitches"),
                perThousand(run, "loadGeneratorCpuMs"));
            lagWarning(run).ifPresent(table::note);
        }
        usageNote(runs).ifPresent(table::explain);
        return table;
    }

    /** The peer's name in {@code runs} (mosquitto, mqtt), or "mosquitto" when none ran. */
    static String peerName(List<JsonObject> runs) {
        return runs.stream().filter(r -> PEER.equals(r.getString("kind"))).map(r -> r.getString("name")).findFirst()
            .orElse("mosquitto");
    }

    /**
     * {@code run}'s percentile {@code label} divided by the peer's at the same rate in the same run,
     * as "1.23×"; "–" when no peer ran at that rate.
     */
    static String toPeer(List<JsonObject> runs, JsonObject run, String label) {
        Optional<JsonObject> peer = runs.stream().filter(r -> PEER.equals(r.getString("kind"))
            && r.getDouble("rate").equals(run.getDouble("rate"))).findFirst();
        if (peer.isEmpty() || run.getJsonObject("oneWay").getLong("count", 0L) == 0) {
            return "–";
        }
        return Table.ratio(percentile(run, label), percentile(peer.get(), label));
    }

    private static long percentile(JsonObject run, String label) {
        return run.getJsonObject("oneWay").getJsonObject("percentiles").getLong(label, 0L);
    }

    /** A run's {@code usage.perThousandMessages.KEY}, to one decimal; "–" when not measured. */
    static String perThousand(JsonObject run, String key) {
        JsonObject usage = run.getJsonObject("usage");
        Double value = usage == null ? null : usage.getJsonObject("perThousandMessages", new JsonObject()).getDouble(key);
        return value == null ? "–" : String.format("%,.1f", value);
    }

    /** How CPU is counted, under a table that shows it. */
    private static Optional<String> usageNote(List<JsonObject> runs) {
        return runs.stream().filter(r -> r.getJsonObject("usage") != null).findFirst().map(r -> {
            JsonObject usage = r.getJsonObject("usage");
            JsonObject instructions = usage.getJsonObject("instructions", new JsonObject());
            return String.format("CPU is user + system time from /proc/PID/stat over each step's measured %s s, in"
                    + " clock ticks of %s ms, so each figure is good to about one tick in the window;"
                    + " context switches are voluntary + involuntary, summed over the server's threads.%s",
                trim(usage.getDouble("windowSeconds", 0.0)), trim(1000.0 / usage.getLong("ticksPerSecond", 100L)),
                instructions.getBoolean("supported", false) ? "" : " No instruction counts: "
                    + instructions.getString("reason", "perf stat unsupported") + ".");
        });
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    static Table throughput(BenchResult result) {
        List<JsonObject> summaries = result.throughput();
        Table table = new Table("Throughput: the highest offered rate whose one-way p99 stays within "
            + summaries.get(0).getDouble("boundMs") + " ms with every message delivered",
            new String[] {"system", "highest rate/s with p99 ≤ bound", "÷ " + peerName(result.runs().stream()
                .filter(r -> "throughput".equals(r.getString("purpose"))).toList()), "p99 there",
                "server CPU ms/1k msgs there", "server ctx sw/1k msgs there", "first failing rate/s", "why it failed"});
        Optional<JsonObject> peer = summaries.stream().filter(s -> result.runs().stream()
            .anyMatch(r -> PEER.equals(r.getString("kind")) && r.getString("name").equals(s.getString("name")))).findFirst();
        double peerBest = peer.map(s -> s.getDouble("best")).orElse(0.0);
        for (JsonObject s : summaries) {
            Optional<JsonObject> best = result.runs().stream().filter(r -> "throughput".equals(r.getString("purpose"))
                && r.getString("name").equals(s.getString("name")) && r.getDouble("rate").equals(s.getDouble("best")))
                .findFirst();
            table.row(s.getString("name"), s.getDouble("best") > 0 ? Table.count(s.getDouble("best")) : "none",
                Table.ratio(s.getDouble("best"), peerBest),
                s.getLong("bestP99") == null ? "–" : Table.ms(s.getLong("bestP99")),
                best.map(r -> perThousand(r, "serverCpuMs")).orElse("–"),
                best.map(r -> perThousand(r, "serverContextSwitches")).orElse("–"),
                s.getDouble("failedAt") == null ? "not reached" : Table.count(s.getDouble("failedAt")),
                s.getString("reason", ""));
        }
        // A step the generator was late for may have failed, or passed, for the generator's sake.
        result.runs().stream().filter(r -> "throughput".equals(r.getString("purpose")))
            .forEach(run -> lagWarning(run).ifPresent(table::note));
        usageNote(result.runs().stream().filter(r -> "throughput".equals(r.getString("purpose"))).toList())
            .ifPresent(table::explain);
        return table;
    }

    static Table density(List<JsonObject> entries) {
        // RSS is the one number a peer (a C broker) and Courier share: divide by the peer's.
        Optional<JsonObject> peer = entries.stream().filter(d -> "peer".equals(d.getString("kind"))
            && d.getJsonObject("perConnection").getDouble("rss") != null).findFirst();
        double peerRss = peer.map(d -> d.getJsonObject("perConnection").getDouble("rss")).orElse(0.0);
        String peerName = peer.map(d -> d.getString("name")).orElse("peer");
        Table table = new Table("Idle authenticated connections: what each one costs the server (bytes, growth divided"
            + " by the count)", new String[] {"system", "connections", "heap live/conn", "direct/conn", "native/conn",
            "JVM total/conn", "RSS/conn", "RSS ÷ " + peerName, "kernel/conn", "connect rate/s", "slope between",
            "heap live slope", "RSS slope"});
        for (JsonObject d : entries) {
            JsonObject per = d.getJsonObject("perConnection");
            JsonObject slope = d.getJsonObject("slope");
            JsonObject perSlope = slope == null ? new JsonObject() : slope.getJsonObject("perConnection");
            table.row(d.getString("name"), Table.count(d.getInteger("connections")),
                bytes(per, "heapLive"), bytes(per, "direct"), bytes(per, "nativeOther"), bytes(per, "jvmTotal"),
                bytes(per, "rss"), Table.ratio(per.getDouble("rss", 0.0), peerRss), bytes(per, "kernel"),
                Table.count(d.getDouble("connectRate")),
                slope == null ? "–" : Table.count(slope.getInteger("from")) + "–" + Table.count(slope.getInteger("to")),
                bytes(perSlope, "heapLive"), bytes(perSlope, "rss"));
        }
        if (entries.stream().anyMatch(d -> d.getJsonObject("slope") != null)) {
            table.explain("A slope is the growth between two counts of connections held, divided by their difference:"
                + " unlike the average over the first connections it charges neither one-time costs nor heap pages"
                + " first touched to them, so it is the figure to project a larger node from.");
        }
        return table;
    }

    /**
     * Why a step's numbers may be the load generator's: its send-lag p99 is at least
     * {@link #LAG_SHARE} of the one-way p99 and at least {@link #LAG_FLOOR_NANOS}. Empty otherwise.
     */
    public static Optional<String> lagWarning(JsonObject run) {
        long lag = sendLagP99(run);
        long p99 = run.getJsonObject("oneWay").getJsonObject("percentiles").getLong("p99", 0L);
        if (lag < LAG_FLOOR_NANOS || lag < LAG_SHARE * p99) {
            return Optional.empty();
        }
        String share = p99 > 0 ? String.format("%.0f%% of", 100.0 * lag / p99) : "above";
        return Optional.of(String.format("%s at %s/s: the load generator sent late — send lag p99 %s ms is %s the"
                + " %s p99 (%s ms), so that much of the tail may be the generator's, not the system's. Give it"
                + " more --load-processes or a quieter machine.", run.getString("name"),
            Table.count(run.getDouble("rate")), Table.ms(lag), share,
            RTT.equals(run.getString("purpose")) ? "round-trip" : "one-way", Table.ms(p99)));
    }

    private static long sendLagP99(JsonObject run) {
        JsonObject lag = run.getJsonObject("sendLag");
        return lag == null ? 0 : lag.getJsonObject("percentiles").getLong("p99", 0L);
    }

    /**
     * A percentile in ms, or "–" when {@code count} samples cannot support it: of n samples the
     * highest percentile that means anything is 1 − 1/n.
     */
    private static String pct(JsonObject percentiles, String label, long count) {
        double p = BenchResult.PERCENTILES.get(label) / 100;
        return supports(count, p) ? Table.ms(percentiles.getLong(label)) : "–";
    }

    /** Whether {@code count} samples have a {@code p} percentile (p in 0..1): p ≤ 1 − 1/count. */
    public static boolean supports(long count, double p) {
        return count > 0 && p <= 1 - 1.0 / count + 1e-9;
    }

    private static String bytes(JsonObject per, String key) {
        Double value = per.getDouble(key);
        return value == null ? "–" : Table.count(value);
    }
}
