package io.courier.bench.report;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.bench.cli.CompareCommand;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

class ReportTest {

    @TempDir
    Path dir;

    private static Histogram latencies(long base) {
        Histogram h = new Histogram(3);
        for (int i = 1; i <= 1_000; i++) {
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
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> BenchResult.read(file))
            .hasMessageContaining("not a courier-bench result");
    }

    @Test
    void compareShowsBothAndTheRatio() {
        String compared = CompareCommand.compare(sample(200), sample(300));
        assertThat(compared).containsPattern("tcp\\s+latency\\s+2,000.*1\\.50×");
        assertThat(compared).doesNotContain("Only in");
    }
}
