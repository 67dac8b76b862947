package io.courier.bench.report;

import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Optional;

/** The terminal tables of a result: latency, throughput, density. */
public final class Tables {

    /** The floor every other system's latency is divided by, when it was measured in the same run. */
    public static final String FLOOR = "relay";

    private Tables() {
    }

    /** Everything in {@code result} that has a table. */
    public static String render(BenchResult result) {
        StringBuilder out = new StringBuilder();
        List<JsonObject> latency = result.runs().stream().filter(r -> r.getString("purpose").equals("latency")).toList();
        if (!latency.isEmpty()) {
            out.append(latency(latency));
        }
        if (!result.throughput().isEmpty()) {
            out.append('\n').append(throughput(result.throughput()));
        }
        if (!result.density().isEmpty()) {
            out.append('\n').append(density(result.density()));
        }
        return out.toString();
    }

    static String latency(List<JsonObject> runs) {
        TextTable table = new TextTable("system", "rate/s", "achieved/s", "p50", "p90", "p99", "p99.9", "p99.99", "max",
            "accepted p50", "accepted p99", "send lag p99", "lost", "p50 ÷ " + FLOOR, "p99 ÷ " + FLOOR);
        for (JsonObject run : runs) {
            JsonObject p = run.getJsonObject("oneWay").getJsonObject("percentiles");
            JsonObject a = run.getJsonObject("toAccepted") == null ? null
                : run.getJsonObject("toAccepted").getJsonObject("percentiles");
            Optional<JsonObject> floor = runs.stream().filter(r -> r.getString("name").equals(FLOOR)
                && r.getDouble("rate").equals(run.getDouble("rate"))).findFirst();
            double floor50 = floor.map(f -> f.getJsonObject("oneWay").getJsonObject("percentiles").getLong("p50")).orElse(0L);
            double floor99 = floor.map(f -> f.getJsonObject("oneWay").getJsonObject("percentiles").getLong("p99")).orElse(0L);
            boolean self = run.getString("name").equals(FLOOR);
            table.row(run.getString("name"), TextTable.count(run.getDouble("rate")),
                TextTable.count(run.getDouble("achievedRate")),
                TextTable.ms(p.getLong("p50")), TextTable.ms(p.getLong("p90")), TextTable.ms(p.getLong("p99")),
                TextTable.ms(p.getLong("p99.9")), TextTable.ms(p.getLong("p99.99")), TextTable.ms(p.getLong("max")),
                a == null ? "–" : TextTable.ms(a.getLong("p50")), a == null ? "–" : TextTable.ms(a.getLong("p99")),
                TextTable.ms(run.getJsonObject("sendLag").getJsonObject("percentiles").getLong("p99")),
                run.getLong("lost") + (run.getLong("failed") > 0 ? " (+" + run.getLong("failed") + " failed)" : ""),
                self ? "1.00×" : TextTable.ratio(p.getLong("p50"), floor50),
                self ? "1.00×" : TextTable.ratio(p.getLong("p99"), floor99));
        }
        return "One-way latency, sender → receiver, in ms, timed from each message's scheduled send time"
            + " (open loop: stalls are not hidden)\n" + table.render();
    }

    static String throughput(List<JsonObject> summaries) {
        TextTable table = new TextTable("system", "highest rate/s with p99 ≤ bound", "p99 there", "first failing rate/s",
            "why it failed");
        for (JsonObject s : summaries) {
            table.row(s.getString("name"), s.getDouble("best") > 0 ? TextTable.count(s.getDouble("best")) : "none",
                s.getLong("bestP99") == null ? "–" : TextTable.ms(s.getLong("bestP99")),
                s.getDouble("failedAt") == null ? "not reached" : TextTable.count(s.getDouble("failedAt")),
                s.getString("reason", ""));
        }
        JsonObject first = summaries.get(0);
        return "Throughput: the highest offered rate whose one-way p99 stays within " + first.getDouble("boundMs")
            + " ms with every message delivered\n" + table.render();
    }

    static String density(List<JsonObject> entries) {
        // RSS is the one number a peer (a C broker) and Courier share: divide by the peer's.
        Optional<JsonObject> peer = entries.stream().filter(d -> "peer".equals(d.getString("kind"))
            && d.getJsonObject("perConnection").getDouble("rss") != null).findFirst();
        double peerRss = peer.map(d -> d.getJsonObject("perConnection").getDouble("rss")).orElse(0.0);
        String peerName = peer.map(d -> d.getString("name")).orElse("peer");
        TextTable table = new TextTable("system", "connections", "heap live/conn", "direct/conn", "native/conn",
            "JVM total/conn", "RSS/conn", "RSS ÷ " + peerName, "kernel/conn", "connect rate/s");
        for (JsonObject d : entries) {
            JsonObject per = d.getJsonObject("perConnection");
            table.row(d.getString("name"), TextTable.count(d.getInteger("connections")),
                bytes(per, "heapLive"), bytes(per, "direct"), bytes(per, "nativeOther"), bytes(per, "jvmTotal"),
                bytes(per, "rss"), TextTable.ratio(per.getDouble("rss", 0.0), peerRss), bytes(per, "kernel"),
                TextTable.count(d.getDouble("connectRate")));
        }
        return "Idle authenticated connections: what each one costs the server (bytes, growth divided by the count)\n"
            + table.render();
    }

    private static String bytes(JsonObject per, String key) {
        Double value = per.getDouble(key);
        return value == null ? "–" : TextTable.count(value);
    }
}
