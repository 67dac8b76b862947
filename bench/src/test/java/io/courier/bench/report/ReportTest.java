package io.courier.bench.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.courier.bench.cli.CompareCommand;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class ReportTest {

    @TempDir
    Path dir;

    private static final String XHTML = "http://www.w3.org/1999/xhtml";
    private static final String SVG = "http://www.w3.org/2000/svg";

    private static Histogram latencies(long base) {
        return latencies(base, 1_000);
    }

    /** {@code count} samples: base, 2 × base, … count × base nanoseconds. */
    private static Histogram latencies(long base, int count) {
        Histogram h = new Histogram(3);
        for (int i = 1; i <= count; i++) {
            h.recordValue(base * i);
        }
        return h;
    }

    private static BenchResult sample(long tcpBase) {
        BenchResult result = BenchResult.begin("latency", List.of("latency"), new JsonObject().put("systems", List.of("tcp", "relay")));
        result.addRun("tcp", "courier", new JsonObject(), "latency", 2000, 1000, 1000, 1000, 0, "", 2000,
            latencies(tcpBase), latencies(tcpBase / 2), latencies(10));
        result.addRun("relay", "floor", new JsonObject(), "latency", 2000, 1000, 1000, 0, 0, "", 2000,
            latencies(100), new Histogram(3), latencies(10));
        return result;
    }

    @Test
    void tableDividesByTheRelayFloorAtTheSameRate() {
        String table = Tables.render(sample(200));
        // tcp's p50 is 2× the relay's: 200 × 500 against 100 × 500 nanoseconds.
        assertThat(table).contains("p50 ÷ relay").containsPattern("tcp\\s.*2\\.00×");
        // No acknowledgement in a relay: a dash, not a zero.
        assertThat(table.lines().filter(l -> l.startsWith("relay")).findFirst().orElseThrow()).contains("–");
    }

    @Test
    void writtenResultReadsBackWithItsHistogramsAndTheReportIsWellFormed() throws Exception {
        BenchResult result = sample(200);
        Path file = result.write(dir);
        BenchResult read = BenchResult.read(file);
        assertThat(read.runs()).hasSize(2);
        JsonObject tcp = read.runs().get(0);
        assertThat(Histograms.decode(tcp.getJsonObject("oneWay").getString("histogram")).getTotalCount()).isEqualTo(1000);
        assertThat(tcp.getJsonObject("oneWay").getJsonObject("percentiles").getLong("p50")).isBetween(99_900L, 100_100L);
        assertThat(read.runs().get(1).getValue("toAccepted")).isNull();

        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        Document page = factory.newDocumentBuilder().parse(dir.resolve("report.html").toFile());
        assertThat(page.getElementsByTagNameNS("http://www.w3.org/2000/svg", "polyline").getLength())
            .as("one-way: tcp and relay; accepted: tcp").isEqualTo(3);
    }

    @Test
    void aFileOfAnotherKindIsRefused() throws Exception {
        Path file = Files.writeString(dir.resolve("x.json"), "{\"schema\":\"something-else\"}");
        assertThatThrownBy(() -> BenchResult.read(file)).isInstanceOf(ResultFileException.class)
            .hasMessageContaining(file.toString()).hasMessageContaining("not a courier-bench result");
    }

    @Test
    void aMissingFileIsNamedWithWhatToGiveInstead() {
        Path file = dir.resolve("result.json");
        assertThatThrownBy(() -> BenchResult.read(file)).isInstanceOf(ResultFileException.class)
            .hasMessageContaining("no such file: " + file).hasMessageContaining("bench-results/");
    }

    @Test
    void aDirectoryHoldingAResultPointsAtIt() throws Exception {
        sample(200).write(dir);
        assertThatThrownBy(() -> BenchResult.read(dir)).isInstanceOf(ResultFileException.class)
            .hasMessageContaining("its result is " + dir.resolve("result.json"));
    }

    @Test
    void reportTablesAreHtmlTablesWithAHeaderAndARowPerRun() throws Exception {
        Document page = page(sample(200));
        NodeList tables = page.getElementsByTagNameNS(XHTML, "table");
        assertThat(tables.getLength()).as("the latency table").isEqualTo(1);
        Element latency = (Element) tables.item(0);
        assertThat(text(latency, "caption").get(0)).startsWith("One-way latency");
        assertThat(text(latency, "th")).startsWith("system", "rate/s", "achieved/s", "samples", "p50")
            .contains("p99.99", "send lag p99", "p50 ÷ relay");
        Element body = (Element) latency.getElementsByTagNameNS(XHTML, "tbody").item(0);
        NodeList rows = body.getElementsByTagNameNS(XHTML, "tr");
        assertThat(rows.getLength()).isEqualTo(2);
        List<String> tcp = text((Element) rows.item(0), "td");
        assertThat(tcp).hasSameSizeAs(text(latency, "th")).startsWith("tcp", "2,000", "2,000", "1,000");
        // The configuration is the one preformatted block left; no table hides in one.
        assertThat(page.getElementsByTagNameNS(XHTML, "pre").getLength()).isEqualTo(1);
        assertThat(page.getElementsByTagNameNS(XHTML, "pre").item(0).getTextContent()).doesNotContain("p50");
    }

    @Test
    void percentilesThatTheSampleCountCannotSupportAreDashes() throws Exception {
        // 1,000 samples reach 1 − 1/1,000 = 99.9%, not 99.99%.
        Element table = (Element) page(sample(200)).getElementsByTagNameNS(XHTML, "table").item(0);
        List<String> header = text(table, "th");
        List<String> tcp = text((Element) table.getElementsByTagNameNS(XHTML, "tr").item(1), "td");
        assertThat(tcp.get(header.indexOf("p99.9"))).isEqualTo("0.200");
        assertThat(tcp.get(header.indexOf("p99.99"))).isEqualTo("–");
    }

    @Test
    void eachPercentileLineCarriesItsSampleCountAndEndsWhereTheCountDoes() throws Exception {
        BenchResult result = BenchResult.begin("latency", List.of("latency"), new JsonObject());
        result.addRun("tcp", "courier", new JsonObject(), "latency", 2000, 3000, 3000, 3000, 0, "", 2000,
            latencies(100, 3_000), new Histogram(3), latencies(10));
        result.addRun("relay", "floor", new JsonObject(), "latency", 2000, 1000, 1000, 0, 0, "", 2000,
            latencies(100), new Histogram(3), latencies(10));
        Document page = page(result);
        Element svg = (Element) page.getElementsByTagNameNS(SVG, "svg").item(0);
        assertThat(text(svg, "text")).contains("tcp  n = 3,000", "relay  n = 1,000")
            .contains("0%", "90%", "99%", "99.9%", "99.967%").doesNotContain("99.99%", "99.999%");
        assertThat(byClass(page, "p", "samples")).singleElement().asString()
            .contains("n = 3,000 for tcp (to 99.967%)", "n = 1,000 for relay (to 99.9%)");

        Element frame = (Element) svg.getElementsByTagNameNS(SVG, "rect").item(0);
        double left = Double.parseDouble(frame.getAttribute("x"));
        double right = left + Double.parseDouble(frame.getAttribute("width"));
        Map<String, Double> ends = new HashMap<>();
        NodeList lines = svg.getElementsByTagNameNS(SVG, "polyline");
        for (int i = 0; i < lines.getLength(); i++) {
            Element line = (Element) lines.item(i);
            String[] points = line.getAttribute("points").split(" ");
            ends.put(line.getAttribute("data-name"), Double.parseDouble(points[points.length - 1].split(",")[0]));
        }
        // The axis ends at tcp's 1 − 1/3,000; relay's line at its 1 − 1/1,000, three nines of log10(3,000).
        assertThat(ends.get("tcp")).isCloseTo(right, within(0.1));
        assertThat((ends.get("relay") - left) / (right - left)).isCloseTo(3 / Math.log10(3_000), within(0.001));
    }

    @Test
    void percentileLabelsNameTheHighestSupportedPercentile() {
        assertThat(HtmlReport.supportedNines(3_000)).isCloseTo(Math.log10(3_000), within(1e-12));
        assertThat(HtmlReport.percentile(0)).isEqualTo("0%");
        assertThat(HtmlReport.percentile(1)).isEqualTo("90%");
        assertThat(HtmlReport.percentile(3)).isEqualTo("99.9%");
        assertThat(HtmlReport.percentile(HtmlReport.supportedNines(3_000))).isEqualTo("99.967%");
        assertThat(HtmlReport.percentile(HtmlReport.supportedNines(20))).isEqualTo("95.0%");
        assertThat(Tables.supports(1_000, 0.999)).isTrue();
        assertThat(Tables.supports(1_000, 0.9999)).isFalse();
    }

    @Test
    void aLateGeneratorIsFlaggedOnTheTerminalAndInTheReport() throws Exception {
        BenchResult result = BenchResult.begin("latency", List.of("latency"), new JsonObject());
        // One-way p99 0.2 ms; the generator's own send lag p99 2 ms: the tail is the generator's.
        result.addRun("tcp", "courier", new JsonObject(), "latency", 2000, 1000, 1000, 1000, 0, "", 2000,
            latencies(200), latencies(100), latencies(2_000));
        String terminal = Tables.render(result);
        assertThat(terminal).contains("1.980 !").contains("! tcp at 2,000/s: the load generator sent late")
            .contains("1000% of the one-way p99 (0.198 ms)");

        Document page = page(result);
        assertThat(byClass(page, "p", "warning")).singleElement().asString()
            .startsWith("Warning: tcp at 2,000/s: the load generator sent late");
        assertThat(byClass(page, "td", "warn")).containsExactly("1.980 !");
    }

    @Test
    void aPunctualGeneratorIsNotFlagged() throws Exception {
        BenchResult result = sample(200);
        assertThat(Tables.render(result)).doesNotContain("sent late").doesNotContain(" !");
        assertThat(Files.readString(result.write(dir).resolveSibling("report.html"))).doesNotContain("class=\"warning\"")
            .doesNotContain("class=\"warn\"");
    }

    @Test
    void sendLagIsFlaggedFromAQuarterOfTheOneWayP99AndAboveTheTimerSlack() {
        assertThat(Tables.lagWarning(run(1_000_000, 300_000))).as("30% of p99").isPresent();
        assertThat(Tables.lagWarning(run(1_000_000, 200_000))).as("20% of p99").isEmpty();
        assertThat(Tables.lagWarning(run(100_000, 90_000))).as("90%, but under 0.1 ms").isEmpty();
        assertThat(Tables.lagWarning(run(300_000, 150_000))).as("50% and 0.15 ms").isPresent();
    }

    @Test
    void throughputStepsWithALateGeneratorAreWarnedAbout() {
        BenchResult result = BenchResult.begin("throughput", List.of("throughput"), new JsonObject());
        result.addRun("tcp", "courier", new JsonObject(), "throughput", 40_000, 1000, 1000, 1000, 0, "", 40_000,
            constant(2_000_000), new Histogram(3), constant(1_500_000));
        result.addThroughput(new JsonObject().put("name", "tcp").put("boundMs", 10.0).put("best", 40_000.0)
            .put("bestP99", 2_000_000L));
        assertThat(Tables.render(result)).contains("! tcp at 40,000/s: the load generator sent late");
    }

    /** A latency run whose one-way and send-lag times are constant, in nanoseconds. */
    private static JsonObject run(long oneWay, long lag) {
        BenchResult result = BenchResult.begin("latency", List.of(), new JsonObject());
        return result.addRun("tcp", "courier", new JsonObject(), "latency", 2000, 1000, 1000, 1000, 0, "", 2000,
            constant(oneWay), new Histogram(3), constant(lag));
    }

    private static Histogram constant(long nanos) {
        Histogram h = new Histogram(3);
        h.recordValueWithCount(nanos, 1_000);
        return h;
    }

    private Document page(BenchResult result) throws Exception {
        Path html = result.write(dir).resolveSibling("report.html");
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        return factory.newDocumentBuilder().parse(html.toFile());
    }

    /** The text of each {@code tag} element of {@code cssClass}. */
    private static List<String> byClass(Document page, String tag, String cssClass) {
        NodeList nodes = page.getElementsByTagNameNS(XHTML, tag);
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < nodes.getLength(); i++) {
            Element e = (Element) nodes.item(i);
            if (e.getAttribute("class").equals(cssClass)) {
                texts.add(e.getTextContent());
            }
        }
        return texts;
    }

    private static List<String> text(Element parent, String tag) {
        NodeList nodes = parent.getElementsByTagNameNS("*", tag);
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < nodes.getLength(); i++) {
            texts.add(nodes.item(i).getTextContent());
        }
        return texts;
    }

    @Test
    void compareShowsBothAndTheRatio() {
        String compared = CompareCommand.compare(sample(200), sample(300));
        assertThat(compared).containsPattern("tcp\\s+latency\\s+2,000.*1\\.50×");
        assertThat(compared).doesNotContain("Only in");
    }
}
