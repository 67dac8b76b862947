package io.courier.bench.cli;

import io.courier.bench.report.BenchResult;
import io.courier.bench.report.Table;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code compare A B}: two result files side by side — every measurement found in both, with
 * B ÷ A. Measurements are matched by system, purpose and rate; those in one file only are listed
 * as such, so nothing silently disappears.
 */
@Command(name = "compare", mixinStandardHelpOptions = true, versionProvider = BenchVersion.class,
    description = "Put two result files side by side (B ÷ A).")
public final class CompareCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "A", description = "Result A (result.json).")
    Path a;

    @Parameters(index = "1", paramLabel = "B", description = "Result B (result.json).")
    Path b;

    @Override
    public Integer call() {
        BenchResult left = BenchResult.read(a);
        BenchResult right = BenchResult.read(b);
        System.out.println("A: " + a + "  (" + left.json().getString("started") + ", commit "
            + left.json().getString("commit") + ")");
        System.out.println("B: " + b + "  (" + right.json().getString("started") + ", commit "
            + right.json().getString("commit") + ")");
        System.out.print(compare(left, right));
        return 0;
    }

    /** A run's server CPU ms per 1,000 messages, when it was measured. */
    private static Optional<Double> cpu(JsonObject run) {
        JsonObject usage = run.getJsonObject("usage");
        return usage == null ? Optional.empty()
            : Optional.ofNullable(usage.getJsonObject("perThousandMessages", new JsonObject()).getDouble("serverCpuMs"));
    }

    /** The comparison as text: the tables of what both hold, then what only one does. */
    public static String compare(BenchResult left, BenchResult right) {
        StringBuilder out = new StringBuilder();
        Table latency = new Table("system", "purpose", "rate/s", "achieved A", "achieved B",
            "p50 A", "p50 B", "B÷A", "p99 A", "p99 B", "B÷A", "p99.9 A", "p99.9 B", "B÷A",
            "server CPU ms/1k A", "B", "B÷A");
        boolean any = false;
        for (JsonObject run : left.runs()) {
            Optional<JsonObject> other = match(right.runs(), run);
            if (other.isEmpty()) {
                continue;
            }
            any = true;
            JsonObject pa = run.getJsonObject("oneWay").getJsonObject("percentiles");
            JsonObject pb = other.get().getJsonObject("oneWay").getJsonObject("percentiles");
            latency.row(run.getString("name"), run.getString("purpose"), Table.count(run.getDouble("rate")),
                Table.count(run.getDouble("achievedRate")), Table.count(other.get().getDouble("achievedRate")),
                Table.ms(pa.getLong("p50")), Table.ms(pb.getLong("p50")), Table.ratio(pb.getLong("p50"), pa.getLong("p50")),
                Table.ms(pa.getLong("p99")), Table.ms(pb.getLong("p99")), Table.ratio(pb.getLong("p99"), pa.getLong("p99")),
                Table.ms(pa.getLong("p99.9")), Table.ms(pb.getLong("p99.9")),
                Table.ratio(pb.getLong("p99.9"), pa.getLong("p99.9")),
                cpu(run).map(v -> String.format("%,.1f", v)).orElse("–"),
                cpu(other.get()).map(v -> String.format("%,.1f", v)).orElse("–"),
                cpu(run).isPresent() && cpu(other.get()).isPresent()
                    ? Table.ratio(cpu(other.get()).get(), cpu(run).get()) : "–");
        }
        if (any) {
            out.append("\nLatency (ms; one way, round trip where the purpose is rtt) and server CPU per 1,000"
                + " messages\n").append(latency.render());
        }
        Table throughput = new Table("system", "best rate A", "best rate B", "B÷A");
        boolean anyThroughput = false;
        for (JsonObject s : left.throughput()) {
            for (JsonObject t : right.throughput()) {
                if (t.getString("name").equals(s.getString("name"))) {
                    anyThroughput = true;
                    throughput.row(s.getString("name"), Table.count(s.getDouble("best")),
                        Table.count(t.getDouble("best")), Table.ratio(t.getDouble("best"), s.getDouble("best")));
                }
            }
        }
        if (anyThroughput) {
            out.append("\nThroughput within the p99 bound (messages/s)\n").append(throughput.render());
        }
        Table density = new Table("system", "JVM total/conn A", "B", "B÷A", "RSS/conn A", "B", "B÷A");
        boolean anyDensity = false;
        for (JsonObject d : left.density()) {
            for (JsonObject e : right.density()) {
                if (e.getString("name").equals(d.getString("name"))) {
                    anyDensity = true;
                    JsonObject pa = d.getJsonObject("perConnection");
                    JsonObject pb = e.getJsonObject("perConnection");
                    density.row(d.getString("name"), num(pa, "jvmTotal"), num(pb, "jvmTotal"),
                        Table.ratio(pb.getDouble("jvmTotal", 0.0), pa.getDouble("jvmTotal", 0.0)),
                        num(pa, "rss"), num(pb, "rss"), Table.ratio(pb.getDouble("rss", 0.0), pa.getDouble("rss", 0.0)));
                }
            }
        }
        if (anyDensity) {
            out.append("\nBytes per idle connection\n").append(density.render());
        }
        List<String> onlyLeft = left.runs().stream().filter(r -> match(right.runs(), r).isEmpty()).map(CompareCommand::key).toList();
        List<String> onlyRight = right.runs().stream().filter(r -> match(left.runs(), r).isEmpty()).map(CompareCommand::key).toList();
        if (!onlyLeft.isEmpty()) {
            out.append("\nOnly in A: ").append(String.join(", ", onlyLeft)).append('\n');
        }
        if (!onlyRight.isEmpty()) {
            out.append("\nOnly in B: ").append(String.join(", ", onlyRight)).append('\n');
        }
        if (!any && !anyThroughput && !anyDensity) {
            out.append("\nThe two results have no measurement in common.\n");
        }
        return out.toString();
    }

    private static Optional<JsonObject> match(List<JsonObject> runs, JsonObject run) {
        return runs.stream().filter(r -> key(r).equals(key(run))).findFirst();
    }

    private static String key(JsonObject run) {
        return run.getString("name") + " " + run.getString("purpose") + " @ " + Table.count(run.getDouble("rate")) + "/s";
    }

    private static String num(JsonObject per, String key) {
        Double v = per.getDouble(key);
        return v == null ? "–" : Table.count(v);
    }
}
