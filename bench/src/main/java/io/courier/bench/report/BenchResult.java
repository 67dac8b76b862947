package io.courier.bench.report;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * One benchmark run's result file: where it ran, how it was configured, and every measurement with
 * its full histograms, so that anyone can recompute any percentile later or compare two runs
 * ({@code compare}). Written as {@code result.json} beside {@code report.html}.
 */
public final class BenchResult {

    public static final String SCHEMA = "courier-bench-result/1";

    /** The percentiles every table and file shows. */
    public static final Map<String, Double> PERCENTILES = orderedPercentiles();

    /** Where runs write their results unless told otherwise. */
    private static final String RESULTS_HINT = "bench-results/COMMAND-TIMESTAMP/result.json";

    private final JsonObject json;

    private BenchResult(JsonObject json) {
        this.json = json;
    }

    /** A new result for {@code command} run with {@code arguments} and {@code config}. */
    public static BenchResult begin(String command, List<String> arguments, JsonObject config) {
        return new BenchResult(new JsonObject()
            .put("schema", SCHEMA)
            .put("command", command)
            .put("arguments", new JsonArray(arguments))
            .put("started", Instant.now().toString())
            .put("commit", Environment.commit())
            .put("machine", Environment.machine())
            .put("jvm", Environment.jvm())
            .put("config", config)
            .put("runs", new JsonArray())
            .put("throughput", new JsonArray())
            .put("density", new JsonArray()));
    }

    /**
     * Reads a result file.
     *
     * @throws ResultFileException when {@code file} is missing, unreadable, not JSON or not a result,
     *                             naming it and what to give instead.
     */
    public static BenchResult read(Path file) {
        String hint = "give the result.json a courier-bench run wrote (" + RESULTS_HINT + ")";
        if (Files.isDirectory(file)) {
            throw new ResultFileException(file + " is a directory; " + (Files.exists(file.resolve("result.json"))
                ? "its result is " + file.resolve("result.json") : hint));
        }
        if (!Files.exists(file)) {
            throw new ResultFileException("no such file: " + file + "; " + hint);
        }
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new ResultFileException("cannot read " + file + " (" + e + "); check that it is a readable file", e);
        }
        JsonObject json;
        try {
            json = new JsonObject(text);
        } catch (DecodeException e) {
            throw new ResultFileException(file + " is not JSON, so not a courier-bench result; " + hint, e);
        }
        if (!SCHEMA.equals(json.getString("schema"))) {
            throw new ResultFileException(file + " is not a courier-bench result (schema " + json.getValue("schema")
                + ", expected " + SCHEMA + "); " + hint);
        }
        return new BenchResult(json);
    }

    public JsonObject json() {
        return json;
    }

    public String command() {
        return json.getString("command");
    }

    /**
     * Adds one load step's measurements.
     *
     * @param system   name, kind and configuration of what was measured.
     * @param purpose  latency or throughput.
     */
    public JsonObject addRun(String name, String kind, JsonObject system, String purpose, double rate, long sent,
                             long received, long accepted, long failed, String lastFailure, double achievedRate,
                             Histogram oneWay, Histogram toAccepted, Histogram sendLag) {
        JsonObject run = new JsonObject()
            .put("name", name)
            .put("kind", kind)
            .put("purpose", purpose)
            .put("system", system)
            .put("rate", rate)
            .put("achievedRate", achievedRate)
            .put("sent", sent)
            .put("received", received)
            .put("accepted", accepted)
            .put("failed", failed)
            .put("lost", sent - received - failed)
            .put("lastFailure", lastFailure)
            .put("oneWay", histogram(oneWay))
            .put("toAccepted", toAccepted.getTotalCount() == 0 ? null : histogram(toAccepted))
            .put("sendLag", histogram(sendLag));
        json.getJsonArray("runs").add(run);
        return run;
    }

    /**
     * Adds a step's process usage ({@code usage}: see {@code Fleet.Step#usage}) to {@code run},
     * with {@code messages} — the messages the server carried in the measured window, two per
     * round trip — and what each figure comes to per 1,000 of them ({@code perThousandMessages}:
     * {@code serverCpuMs}, {@code loadGeneratorCpuMs}, {@code serverContextSwitches},
     * {@code serverInstructions}; each absent when not measured).
     */
    public static JsonObject addUsage(JsonObject run, JsonObject usage, long messages) {
        JsonObject per = new JsonObject();
        JsonObject server = usage.getJsonObject("server");
        JsonObject load = usage.getJsonObject("loadGenerators");
        JsonObject instructions = usage.getJsonObject("instructions", new JsonObject());
        if (server != null) {
            per.put("serverCpuMs", perThousand(server.getDouble("cpuMs"), messages));
            per.put("serverContextSwitches", perThousand(server.getLong("contextSwitches"), messages));
        }
        if (load != null) {
            per.put("loadGeneratorCpuMs", perThousand(load.getDouble("cpuMs"), messages));
        }
        if (instructions.getBoolean("supported", false)) {
            per.put("serverInstructions", perThousand(instructions.getLong("server"), messages));
        }
        run.put("usage", usage.copy().put("messages", messages).put("perThousandMessages", per));
        return run;
    }

    /** {@code total} per 1,000 of {@code messages}; {@code null} when none were counted. */
    static Double perThousand(double total, long messages) {
        return messages <= 0 ? null : total * 1000.0 / messages;
    }

    public void addThroughput(JsonObject summary) {
        json.getJsonArray("throughput").add(summary);
    }

    public void addDensity(JsonObject density) {
        json.getJsonArray("density").add(density);
    }

    public List<JsonObject> runs() {
        return objects("runs");
    }

    public List<JsonObject> throughput() {
        return objects("throughput");
    }

    public List<JsonObject> density() {
        return objects("density");
    }

    private List<JsonObject> objects(String key) {
        List<JsonObject> list = new ArrayList<>();
        json.getJsonArray(key, new JsonArray()).forEach(o -> list.add((JsonObject) o));
        return list;
    }

    /** Writes {@code result.json} and {@code report.html} into {@code dir}; returns the json file. */
    public Path write(Path dir) throws IOException {
        json.put("finished", Instant.now().toString());
        Files.createDirectories(dir);
        Path file = dir.resolve("result.json");
        Files.writeString(file, json.encodePrettily());
        Files.writeString(dir.resolve("report.html"), HtmlReport.render(this));
        return file;
    }

    /** A histogram in the file: count, the usual percentiles (nanoseconds), and all of it, encoded. */
    static JsonObject histogram(Histogram h) {
        JsonObject percentiles = new JsonObject();
        PERCENTILES.forEach((label, p) -> percentiles.put(label, h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(p)));
        percentiles.put("max", h.getMaxValue());
        percentiles.put("mean", h.getTotalCount() == 0 ? 0 : h.getMean());
        return new JsonObject()
            .put("unit", "ns")
            .put("count", h.getTotalCount())
            .put("percentiles", percentiles)
            .put("histogram", Histograms.encode(h));
    }

    private static Map<String, Double> orderedPercentiles() {
        Map<String, Double> p = new LinkedHashMap<>();
        p.put("p50", 50.0);
        p.put("p90", 90.0);
        p.put("p99", 99.0);
        p.put("p99.9", 99.9);
        p.put("p99.99", 99.99);
        return p;
    }
}
