package io.courier.bench.report;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

/**
 * The HTML report of a result: one self-contained page, no scripts, plots drawn as inline SVG —
 * it opens from a file, in any browser, years later. The page is well-formed XML as well, which
 * lets the smoke test parse it.
 *
 * <p>Latency is plotted as a percentile distribution, the way HdrHistogram's plotter draws it: the
 * horizontal axis is {@code log10(1 / (1 − percentile))}, so 90%, 99%, 99.9%… are evenly spaced
 * and the tail, where transports differ, gets the room. One line per system, floors dashed, each
 * ending at the percentile its sample count supports. Tables are HTML tables; a step whose load
 * generator sent late is flagged in its table and warned about under it.
 */
public final class HtmlReport {

    private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    private static final int WIDTH = 820;
    private static final int HEIGHT = 380;
    private static final int LEFT = 70;
    private static final int RIGHT = 220;
    private static final int TOP = 30;
    private static final int BOTTOM = 50;
    /** Pixels between the centres of two axis labels for them not to overlap. */
    private static final int MIN_LABEL_GAP = 70;

    private HtmlReport() {
    }

    /**
     * One line of a chart; a system keeps its colour in every chart of a report. {@code name} is
     * the system's (the line's {@code data-name}), {@code legend} what the legend says of it.
     */
    record Series(String name, String legend, boolean dashed, List<double[]> points, String color) {
        Series(String name, boolean dashed, List<double[]> points, String color) {
            this(name, name, dashed, points, color);
        }
    }

    /** Colours by system name, in order of first appearance in the result. */
    private static Map<String, String> colors(BenchResult result) {
        Map<String, String> colors = new LinkedHashMap<>();
        for (JsonObject run : result.runs()) {
            colors.putIfAbsent(run.getString("name"), COLORS[colors.size() % COLORS.length]);
        }
        return colors;
    }

    public static String render(BenchResult result) {
        JsonObject json = result.json();
        StringBuilder page = new StringBuilder();
        page.append("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head><meta charset=\"utf-8\"/>")
            .append("<title>courier-bench ").append(esc(result.command())).append("</title><style>")
            .append("body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}")
            .append("table{border-collapse:collapse;margin:1em 0;font-size:0.85em;font-variant-numeric:tabular-nums}")
            .append("caption{caption-side:top;text-align:left;font-weight:600;padding:0 0 0.4em}")
            .append("td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}")
            .append("td:first-child,th:first-child{text-align:left}td.warn{background:#fde2c4;font-weight:600}")
            .append(".warning{border-left:4px solid #d9822b;background:#fff4e5;padding:0.5em 0.8em;margin:0.6em 0}")
            .append(".samples{color:#555;font-size:0.85em;margin-top:0}")
            .append("pre{background:#f6f6f6;padding:0.6em;white-space:pre-wrap}svg{margin:0.5em 0}")
            .append("</style></head><body>\n");
        page.append("<h1>courier-bench ").append(esc(result.command())).append("</h1>\n");
        page.append("<p>").append(esc(json.getString("started", ""))).append(" – ").append(esc(json.getString("finished", "")))
            .append(", commit <code>").append(esc(json.getString("commit", "unknown"))).append("</code></p>\n");
        JsonObject machine = json.getJsonObject("machine", new JsonObject());
        page.append("<p>").append(esc(machine.getValue("cpus") + " CPUs, " + machine.getString("cpuModel", "?") + ", "
            + machine.getString("kernel", "?") + ", " + machine.getString("os", "?") + "; JVM "
            + json.getJsonObject("jvm", new JsonObject()).getString("vm", "?"))).append("</p>\n");

        Map<String, String> colors = colors(result);
        List<JsonObject> latency = Tables.latencyRuns(result);
        if (!latency.isEmpty()) {
            page.append("<h2>Latency</h2>\n").append(Tables.latency(latency).html());
            for (Double rate : new TreeSet<>(latency.stream().map(r -> r.getDouble("rate")).toList())) {
                List<JsonObject> atRate = latency.stream().filter(r -> r.getDouble("rate").equals(rate)).toList();
                page.append(percentileChart("One-way latency at " + Table.count(rate) + " messages/s", atRate, "oneWay",
                    colors));
                List<JsonObject> acked = atRate.stream().filter(r -> r.getJsonObject("toAccepted") != null).toList();
                if (!acked.isEmpty()) {
                    page.append(percentileChart("Time to accepted (single tick / PUBACK) at " + Table.count(rate)
                        + " messages/s", acked, "toAccepted", colors));
                }
            }
        }
        List<JsonObject> rtt = Tables.rttRuns(result);
        if (!rtt.isEmpty()) {
            page.append("<h2>Round trip</h2>\n").append(Tables.rtt(rtt).html());
            for (Double rate : new TreeSet<>(rtt.stream().map(r -> r.getDouble("rate")).toList())) {
                List<JsonObject> atRate = rtt.stream().filter(r -> r.getDouble("rate").equals(rate)).toList();
                page.append(percentileChart("Round-trip time at " + Table.count(rate) + " round trips/s", atRate, "oneWay",
                    colors));
            }
        }
        List<JsonObject> measured = result.runs().stream().filter(r -> r.getJsonObject("usage") != null
            && !"throughput".equals(r.getString("purpose"))).toList();
        if (!measured.isEmpty()) {
            page.append(cpuChart(measured));
        }
        if (!result.throughput().isEmpty()) {
            page.append("<h2>Throughput at a latency bound</h2>\n").append(Tables.throughput(result).html())
                .append(throughputChart(result, colors));
        }
        if (!result.density().isEmpty()) {
            page.append("<h2>Connection density</h2>\n").append(Tables.density(result.density()).html())
                .append(densityChart(result.density()));
        }
        page.append("<h2>Configuration</h2>\n<pre>").append(esc(json.getJsonObject("config", new JsonObject()).encodePrettily()))
            .append("</pre>\n<p>Full histograms are in <code>result.json</code> (HdrHistogram, compressed, base64).</p>\n");
        page.append("</body></html>\n");
        return page.toString();
    }

    /**
     * The percentile distribution of {@code metric} per run. Of n samples the highest percentile
     * that means anything is 1 − 1/n (3,000 samples have no 99.99th), so each line ends there and
     * the axis at the largest n's; each line's legend carries its n.
     */
    static String percentileChart(String title, List<JsonObject> runs, String metric, Map<String, String> colors) {
        List<Series> series = new ArrayList<>();
        double axisNines = 0;
        Map<Long, List<String>> byCount = new LinkedHashMap<>();
        for (JsonObject run : runs) {
            Histogram h = Histograms.decode(run.getJsonObject(metric).getString("histogram"));
            long n = h.getTotalCount();
            double cut = supportedNines(n);
            axisNines = Math.max(axisNines, cut);
            List<double[]> points = new ArrayList<>();
            if (n > 1) {
                for (HistogramIterationValue v : h.percentiles(5)) {
                    double p = v.getPercentileLevelIteratedTo() / 100.0;
                    double x = p >= 1 ? Double.POSITIVE_INFINITY : Math.log10(1 / (1 - p));
                    if (x >= cut) {
                        break;
                    }
                    points.add(new double[] {x, h.highestEquivalentValue(v.getValueIteratedTo()) / 1e6});
                }
                double top = 1 - 1.0 / n;
                points.add(new double[] {cut, h.highestEquivalentValue(h.getValueAtPercentile(top * 100)) / 1e6});
            }
            String name = run.getString("name");
            byCount.computeIfAbsent(n, k -> new ArrayList<>()).add(name);
            series.add(new Series(name, name + "  n = " + Table.count(n), "floor".equals(run.getString("kind")), points,
                colors.get(name)));
        }
        double xMax = Math.max(1, axisNines);
        int whole = (int) Math.floor(xMax + 1e-9);
        Map<Double, String> xTicks = new LinkedHashMap<>();
        for (int i = 0; i <= whole; i++) {
            xTicks.put((double) i, percentile(i));
        }
        if (xMax - whole > 1e-9) {
            // The end says how far the samples reach; a whole-nines label too close to it would
            // overlap it, so that one keeps its grid line only.
            double gap = (xMax - whole) / xMax * (WIDTH - LEFT - RIGHT);
            if (gap < MIN_LABEL_GAP && whole > 0) {
                xTicks.put((double) whole, "");
            }
            xTicks.put(xMax, percentile(xMax));
        }
        String svg = chart(title, "percentile", "latency (ms, log scale)", series, xTicks, 0, xMax, true);
        List<String> counts = new ArrayList<>();
        byCount.forEach((n, names) -> counts.add("n = " + Table.count(n) + " for " + String.join(", ", names)
            + (n > 1 ? " (to " + percentile(supportedNines(n)) + ")" : "")));
        return svg + "<p class=\"samples\">Samples per line, each drawn up to 1 − 1/n, the highest percentile n samples"
            + " support: " + esc(String.join("; ", counts)) + ".</p>\n";
    }

    /** How far along the percentile axis {@code n} samples reach: log10(n) nines, i.e. 1 − 1/n. */
    static double supportedNines(long n) {
        return n > 1 ? Math.log10(n) : 0;
    }

    /** The percentile {@code nines} along the axis, 1 − 10^−nines, as a label: 0%, 90%, 99.9%, 99.967%. */
    static String percentile(double nines) {
        double percent = 100 * (1 - Math.pow(10, -nines));
        boolean whole = Math.abs(nines - Math.rint(nines)) < 1e-9;
        int decimals = Math.max(0, (int) Math.ceil(nines - 1e-9) - 2) + (whole ? 0 : 1);
        return String.format(java.util.Locale.ROOT, "%." + decimals + "f%%", percent);
    }

    private static String throughputChart(BenchResult result, Map<String, String> colors) {
        Map<String, Series> byName = new LinkedHashMap<>();
        double maxRate = 0;
        for (JsonObject run : result.runs()) {
            if (!"throughput".equals(run.getString("purpose"))) {
                continue;
            }
            byName.computeIfAbsent(run.getString("name"), n -> new Series(n, "floor".equals(run.getString("kind")),
                new ArrayList<>(), colors.get(n))).points().add(new double[] {run.getDouble("rate"),
                run.getJsonObject("oneWay").getJsonObject("percentiles").getLong("p99") / 1e6});
            maxRate = Math.max(maxRate, run.getDouble("rate"));
        }
        if (byName.isEmpty()) {
            return "";
        }
        double bound = result.throughput().get(0).getDouble("boundMs");
        // Bisection visits rates out of order; the line goes by rate.
        byName.values().forEach(s -> s.points().sort(java.util.Comparator.comparingDouble(p -> p[0])));
        List<Series> series = new ArrayList<>(byName.values());
        series.add(new Series("bound " + bound + " ms", true, List.of(new double[] {0, bound}, new double[] {maxRate, bound}),
            "#000000"));
        Map<Double, String> xTicks = new LinkedHashMap<>();
        for (int i = 0; i <= 4; i++) {
            xTicks.put(maxRate * i / 4, Table.count(maxRate * i / 4));
        }
        return chart("One-way p99 against offered rate", "offered rate (messages/s)", "p99 (ms, log scale)", series,
            xTicks, 0, maxRate, true);
    }

    /**
     * The server's CPU time per 1,000 messages, one bar per step (system, scenario, rate), with the
     * load generators' beside it: steadier than time on a shared machine, and what says how many
     * cores a load needs.
     */
    static String cpuChart(List<JsonObject> runs) {
        StringBuilder svg = new StringBuilder();
        int rowHeight = 22;
        int height = TOP + runs.size() * rowHeight * 2 + 20;
        double max = 1;
        for (JsonObject run : runs) {
            JsonObject per = run.getJsonObject("usage").getJsonObject("perThousandMessages", new JsonObject());
            max = Math.max(max, Math.max(per.getDouble("serverCpuMs", 0.0), per.getDouble("loadGeneratorCpuMs", 0.0)));
        }
        svg.append("<h3>CPU time per 1,000 messages (user + system, ms)</h3>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"")
            .append(WIDTH).append("\" height=\"").append(height).append("\" font-size=\"12\">\n");
        int y = TOP;
        int plot = WIDTH - 260 - 80;
        for (JsonObject run : runs) {
            JsonObject per = run.getJsonObject("usage").getJsonObject("perThousandMessages", new JsonObject());
            String step = run.getString("name") + " " + run.getString("purpose") + " @ " + Table.count(run.getDouble("rate"));
            for (String key : List.of("serverCpuMs", "loadGeneratorCpuMs")) {
                Double value = per.getDouble(key);
                String label = step + (key.equals("serverCpuMs") ? " server" : " load gen");
                svg.append("<text x=\"0\" y=\"").append(y + 15).append("\">").append(esc(label)).append("</text>");
                if (value != null) {
                    double w = Math.max(1, value / max * plot);
                    svg.append("<rect x=\"260\" y=\"").append(y + 3).append("\" width=\"").append(fmt(w))
                        .append("\" height=\"14\" fill=\"").append(key.equals("serverCpuMs") ? "#d62728" : "#fdae6b")
                        .append("\"/><text x=\"").append(fmt(265 + w)).append("\" y=\"").append(y + 15).append("\">")
                        .append(String.format("%,.1f", value)).append(" ms</text>\n");
                }
                y += rowHeight;
            }
        }
        return svg.append("</svg>\n").toString();
    }

    private static String densityChart(List<JsonObject> entries) {
        StringBuilder svg = new StringBuilder();
        int rowHeight = 26;
        int height = TOP + entries.size() * rowHeight * 2 + 20;
        double max = 1;
        for (JsonObject d : entries) {
            JsonObject per = d.getJsonObject("perConnection");
            max = Math.max(max, Math.max(per.getDouble("rss", 0.0), per.getDouble("jvmTotal", 0.0)));
        }
        svg.append("<h3>Bytes per idle connection</h3>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(WIDTH)
            .append("\" height=\"").append(height).append("\" font-size=\"12\">\n");
        int y = TOP;
        int plot = WIDTH - 200 - 80;
        for (JsonObject d : entries) {
            JsonObject per = d.getJsonObject("perConnection");
            for (String key : List.of("jvmTotal", "rss")) {
                Double value = per.getDouble(key);
                String label = d.getString("name") + (key.equals("rss") ? " RSS" : " heap+direct+native");
                svg.append("<text x=\"0\" y=\"").append(y + 15).append("\">").append(esc(label)).append("</text>");
                if (value != null) {
                    double w = Math.max(1, value / max * plot);
                    svg.append("<rect x=\"200\" y=\"").append(y + 3).append("\" width=\"").append(fmt(w))
                        .append("\" height=\"16\" fill=\"").append(key.equals("rss") ? "#9ecae1" : "#3182bd").append("\"/>")
                        .append("<text x=\"").append(fmt(205 + w)).append("\" y=\"").append(y + 15).append("\">")
                        .append(Table.count(value)).append(" B</text>\n");
                }
                y += rowHeight;
            }
        }
        return svg.append("</svg>\n").toString();
    }

    /** A line chart; {@code logY} plots the vertical axis in decades. */
    static String chart(String title, String xLabel, String yLabel, List<Series> series, Map<Double, String> xTicks,
                        double xMin, double xMax, boolean logY) {
        double yMin = Double.MAX_VALUE;
        double yMax = 0;
        for (Series s : series) {
            for (double[] p : s.points()) {
                if (p[1] > 0) {
                    yMin = Math.min(yMin, p[1]);
                    yMax = Math.max(yMax, p[1]);
                }
            }
        }
        if (yMax == 0) {
            yMin = 0.001;
            yMax = 1;
        }
        double lo = logY ? Math.floor(Math.log10(yMin)) : 0;
        double hi = logY ? Math.max(lo + 1, Math.ceil(Math.log10(yMax))) : yMax * 1.1;
        int plotW = WIDTH - LEFT - RIGHT;
        int plotH = HEIGHT - TOP - BOTTOM;
        double xSpan = xMax > xMin ? xMax - xMin : 1;
        StringBuilder svg = new StringBuilder();
        svg.append("<h3>").append(esc(title)).append("</h3>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"")
            .append(WIDTH).append("\" height=\"").append(HEIGHT).append("\" font-size=\"12\">\n");
        svg.append("<rect x=\"").append(LEFT).append("\" y=\"").append(TOP).append("\" width=\"").append(plotW)
            .append("\" height=\"").append(plotH).append("\" fill=\"none\" stroke=\"#999\"/>\n");
        for (Map.Entry<Double, String> tick : xTicks.entrySet()) {
            double x = LEFT + (tick.getKey() - xMin) / xSpan * plotW;
            svg.append("<line x1=\"").append(fmt(x)).append("\" y1=\"").append(TOP).append("\" x2=\"").append(fmt(x))
                .append("\" y2=\"").append(TOP + plotH).append("\" stroke=\"#eee\"/>")
                .append("<text x=\"").append(fmt(x)).append("\" y=\"").append(TOP + plotH + 16)
                .append("\" text-anchor=\"middle\">").append(esc(tick.getValue())).append("</text>\n");
        }
        int yTicks = logY ? (int) (hi - lo) : 5;
        for (int i = 0; i <= yTicks; i++) {
            double value = logY ? Math.pow(10, lo + i) : hi * i / yTicks;
            double y = TOP + plotH - (double) i / yTicks * plotH;
            svg.append("<line x1=\"").append(LEFT).append("\" y1=\"").append(fmt(y)).append("\" x2=\"").append(LEFT + plotW)
                .append("\" y2=\"").append(fmt(y)).append("\" stroke=\"#eee\"/>")
                .append("<text x=\"").append(LEFT - 6).append("\" y=\"").append(fmt(y + 4))
                .append("\" text-anchor=\"end\">").append(esc(trim(value))).append("</text>\n");
        }
        svg.append("<text x=\"").append(LEFT + plotW / 2).append("\" y=\"").append(HEIGHT - 10)
            .append("\" text-anchor=\"middle\">").append(esc(xLabel)).append("</text>")
            .append("<text x=\"14\" y=\"").append(TOP + plotH / 2).append("\" text-anchor=\"middle\" transform=\"rotate(-90 14 ")
            .append(TOP + plotH / 2).append(")\">").append(esc(yLabel)).append("</text>\n");
        for (int i = 0; i < series.size(); i++) {
            Series s = series.get(i);
            String color = s.color() != null ? s.color() : COLORS[i % COLORS.length];
            StringBuilder points = new StringBuilder();
            for (double[] p : s.points()) {
                double v = Math.max(p[1], logY ? Math.pow(10, lo) : 0);
                double fy = logY ? (Math.log10(v) - lo) / (hi - lo) : v / hi;
                double x = LEFT + (p[0] - xMin) / xSpan * plotW;
                double y = TOP + plotH - Math.min(1, Math.max(0, fy)) * plotH;
                points.append(fmt(x)).append(',').append(fmt(y)).append(' ');
            }
            svg.append("<polyline class=\"series\" data-name=\"").append(esc(s.name())).append("\" fill=\"none\" stroke=\"")
                .append(color).append("\" stroke-width=\"2\"").append(s.dashed() ? " stroke-dasharray=\"6 4\"" : "")
                .append(" points=\"").append(points.toString().trim()).append("\"/>\n");
            int ly = TOP + 10 + i * 18;
            svg.append("<line x1=\"").append(LEFT + plotW + 12).append("\" y1=\"").append(ly).append("\" x2=\"")
                .append(LEFT + plotW + 36).append("\" y2=\"").append(ly).append("\" stroke=\"").append(color)
                .append("\" stroke-width=\"2\"").append(s.dashed() ? " stroke-dasharray=\"6 4\"" : "").append("/>")
                .append("<text class=\"legend\" x=\"").append(LEFT + plotW + 42).append("\" y=\"").append(ly + 4)
                .append("\">").append(esc(s.legend())).append("</text>\n");
        }
        return svg.append("</svg>\n").toString();
    }

    private static String trim(double value) {
        return value >= 1 ? String.format("%.0f", value) : String.format("%s", (float) value);
    }

    private static String fmt(double v) {
        return String.format(java.util.Locale.ROOT, "%.1f", v);
    }

    static String esc(String s) {
        return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
