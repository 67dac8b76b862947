package io.courier.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.bench.report.BenchResult;
import io.courier.bench.report.Histograms;
import io.courier.bench.report.Tables;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * Runs every command of the packaged {@code courier-bench.jar}, as a researcher would, for a
 * second or two at tiny scale, and checks what it leaves: a complete result file (machine, JVM,
 * configuration, commit, a decodable histogram with samples for every system) and a report that
 * parses, with one plotted line per system. It asserts no timing — it keeps the bench from rotting.
 */
class BenchSmokeIT {

    private static final Path JAR = Path.of("target", "courier-bench.jar");

    /** Short and small: the point is that every path runs, not what it measures. */
    private static final List<String> TINY = List.of("--pairs", "2", "--prime", "0", "--warmup", "0.5",
        "--duration", "1", "--load-jvm-args", "-Xmx256m");

    /** For the commands that start a JVM to measure (all but peer, whose broker is mosquitto). */
    private static final List<String> SMALL_SERVER = List.of("--server-jvm-args", "-Xmx256m");

    @TempDir
    static Path dir;

    @BeforeAll
    static void jarIsBuilt() {
        assertThat(JAR).as("the shaded jar, built by package").exists();
    }

    @Test
    void latencyOverEveryTransportWithTwoLoadProcesses() throws Exception {
        BenchResult result = run("latency", List.of("--rate", "200,400", "--load-processes", "2"));
        assertComplete(result, List.of("tcp", "udp", "ws", "longpoll"), 2);
        assertThat(result.runs()).allSatisfy(r -> assertThat(r.getJsonObject("toAccepted")).isNotNull());
    }

    @Test
    void floorsRelayBytesThroughAnotherProcess() throws Exception {
        BenchResult result = run("floor", List.of("--rate", "300"));
        assertComplete(result, List.of("relay", "aeron-ipc", "aeron-udp"), 1);
    }

    @Test
    void peerIsALocalMosquitto() throws Exception {
        BenchResult result = run("peer", List.of("--rate", "300"));
        assertComplete(result, List.of("mosquitto"), 1);
        assertThat(result.runs().get(0).getJsonObject("toAccepted")).as("PUBACK timing").isNotNull();
    }

    @Test
    void rttGoesBothWaysOnCourierAndMosquittoAndCountsCpu() throws Exception {
        BenchResult result = run("rtt", List.of("--transports", "tcp", "--floors", "relay", "--peer", "mosquitto",
            "--rate", "200"));
        assertComplete(result, List.of("tcp", "relay", "mosquitto"), 1);
        for (JsonObject run : result.runs()) {
            assertThat(run.getString("purpose")).isEqualTo("rtt");
            JsonObject usage = run.getJsonObject("usage");
            // Two messages per round trip through the server.
            assertThat(usage.getLong("messages")).isEqualTo(2 * run.getLong("sent"));
            assertThat(usage.getJsonObject("server").getLong("pid")).isPositive();
            assertThat(usage.getJsonObject("server").getDouble("cpuMs")).isNotNegative();
            assertThat(usage.getJsonObject("loadGenerators").getDouble("cpuMs")).isNotNegative();
            assertThat(usage.getJsonObject("instructions").getBoolean("supported")).isNotNull();
        }
        assertThat(Tables.render(result)).contains("Round trip", "p50 ÷ relay", "p50 ÷ mosquitto", "server CPU ms/1k msgs");
    }

    @Test
    void clusterPutsEachPairsUsersOnDifferentNodesBesideASingleNode() throws Exception {
        String url = System.getenv("COURIER_PG_URL");
        assertThat(url).as("COURIER_PG_URL: run with ./test.sh, which starts PostgreSQL").isNotBlank();
        BenchResult result = run("cluster", List.of("--nodes", "2", "--rate", "100",
            "--set", "storage.options.url=" + url,
            "--set", "storage.options.user=" + System.getenv().getOrDefault("COURIER_PG_USER", "courier"),
            "--set", "storage.options.password=" + System.getenv().getOrDefault("COURIER_PG_PASSWORD", "courier"),
            "--set", "storage.options.schema=bench_smoke_" + Long.toHexString(System.nanoTime())));
        assertComplete(result, List.of("tcp-single", "tcp-cluster"), 1);
        JsonObject cluster = result.runs().stream().filter(r -> r.getString("name").equals("tcp-cluster")).findFirst()
            .orElseThrow();
        assertThat(cluster.getString("purpose")).isEqualTo("rtt");
        assertThat(cluster.getJsonObject("system").getString("address")).as("one address per node").contains(",");
        assertThat(cluster.getJsonObject("usage").getJsonObject("server").getJsonArray("pids"))
            .as("two nodes and Redis count as the server").hasSize(3);
        assertThat(cluster.getJsonObject("usage").getJsonObject("server").getJsonArray("processes"))
            .as("and each one's CPU is there too").hasSize(3);
    }

    @Test
    void throughputStepsUpAndSummarises() throws Exception {
        BenchResult result = run("throughput", List.of("--transports", "tcp", "--start-rate", "200", "--factor", "2",
            "--max-rate", "400", "--refine", "0"));
        assertThat(result.throughput()).singleElement().satisfies(s -> {
            assertThat(s.getString("name")).isEqualTo("tcp");
            assertThat(s.getDouble("boundMs")).isEqualTo(10.0);
            assertThat(s.containsKey("best")).isTrue();
        });
        assertThat(result.runs()).isNotEmpty().allSatisfy(r -> assertThat(r.getString("purpose")).isEqualTo("throughput"));
        assertReportRenders(result, result.runs().stream().map(r -> r.getString("name")).distinct().toList());
    }

    @Test
    void densitySpreadsConnectionsOverProcesses() throws Exception {
        Path out = dir.resolve("density");
        String output = exec(List.of("density", "--transports", "tcp,udp", "--peer", "mosquitto",
            "--connections", "300", "--per-process", "150", "--warm", "20", "--slope", "100,250", "--server-jvm-args", "-Xmx256m",
            "--load-jvm-args", "-Xmx256m", "--out", out.toString()));
        BenchResult result = BenchResult.read(out.resolve("result.json"));
        assertThat(result.json().getJsonObject("config").getInteger("loadProcesses")).isEqualTo(2);
        assertThat(result.density()).extracting(d -> d.getString("name")).containsExactly("tcp", "udp", "mosquitto");
        for (JsonObject d : result.density()) {
            JsonObject per = d.getJsonObject("perConnection");
            assertThat(d.getInteger("connections")).isEqualTo(300);
            assertThat(d.getDouble("connectRate")).isPositive().isFinite();
            assertThat(per.containsKey("rss")).as(d.getString("name") + " RSS").isTrue();
            JsonObject slope = d.getJsonObject("slope");
            assertThat(slope.getInteger("from")).isEqualTo(100);
            assertThat(slope.getInteger("to")).isEqualTo(250);
            assertThat(slope.getJsonObject("perConnection").getDouble("rss")).as(d.getString("name") + " RSS slope").isNotNull();
            if (!d.getString("name").equals("mosquitto")) {
                assertThat(per.fieldNames()).contains("heapLive", "direct", "nativeOther", "jvmTotal", "kernel");
            }
        }
        assertThat(output).contains("heap live/conn").contains("RSS slope").contains("100–250");
        assertEnvironment(result);
        assertReportParses(out.resolve("report.html"));
    }

    @Test
    void compareAndReportReadResultFiles() throws Exception {
        BenchResult a = run("latency", List.of("--transports", "tcp", "--rate", "200"));
        BenchResult b = run("latency", List.of("--transports", "tcp,ws", "--rate", "200"));
        Path fileA = dir.resolve("latency-tcp").resolve("result.json");
        Path fileB = dir.resolve("latency-tcp-ws").resolve("result.json");
        assertThat(a.runs()).hasSize(1);
        assertThat(b.runs()).hasSize(2);
        String compared = exec(List.of("compare", fileA.toString(), fileB.toString()));
        assertThat(compared).contains("tcp", "B÷A", "Only in B: ws latency @ 200/s");
        Files.delete(fileA.resolveSibling("report.html"));
        String reported = exec(List.of("report", fileA.toString()));
        assertThat(reported).contains("One-way latency");
        assertReportParses(fileA.resolveSibling("report.html"));
    }

    @Test
    void jmhRunsFromTheSameJar() throws Exception {
        String listed = exec(List.of("jmh", "-l"));
        assertThat(listed).contains("MailboxOfferDrainBenchmark", "RouterRouteBenchmark", "StorageAppendBenchmark",
            "StorageDrainBenchmark", "TcpFrameCodecBenchmark", "WsFrameCodecBenchmark", "UdpFrameCodecBenchmark",
            "LongPollFrameCodecBenchmark");
        String ran = exec(List.of("jmh", "MailboxOfferDrainBenchmark", "-p", "queue=agrona", "-f", "1", "-wi", "0",
            "-i", "1", "-r", "200ms"));
        assertThat(ran).contains("Result \"io.courier.bench.mailbox.MailboxOfferDrainBenchmark");
        String codec = exec(List.of("jmh", "TcpFrameCodecBenchmark.decodeSend", "-p", "payloadBytes=100", "-f", "1",
            "-wi", "0", "-i", "1", "-r", "200ms"));
        assertThat(codec).contains("Result \"io.courier.bench.codec.TcpFrameCodecBenchmark.decodeSend");
    }

    @Test
    void badOptionsAreRefusedClearly() throws Exception {
        assertRefused(List.of("latency", "--pairs", "0"), "--pairs must be at least 1");
        assertRefused(List.of("rtt", "--floors", "aeron-ipc"), "--floors for rtt can only be relay");
        assertRefused(List.of("floor", "--transports", "tcp"), "Unknown options: '--transports'");
        assertRefused(List.of("latency", "--peer", "amqp://127.0.0.1:5672"), "--peer must be 'mosquitto'");
        assertRefused(List.of("density", "--per-process", "19000"), "at most 20,000 files");
        assertRefused(List.of("density", "--slope", "5000"), "--slope must be two counts");
        assertRefused(List.of("density", "--slope", "19000,5000"), "--slope's counts must rise");
    }

    private static void assertRefused(List<String> args, String message) throws Exception {
        Process p = start(args);
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("exit code of %s", args).isEqualTo(2);
        assertThat(out).contains(message);
    }

    // ---------------------------------------------------------------------------------------------

    private static BenchResult run(String command, List<String> options) throws Exception {
        List<String> args = new ArrayList<>(List.of(command));
        args.addAll(options);
        args.addAll(TINY);
        if (!command.equals("peer")) {
            args.addAll(SMALL_SERVER);
        }
        String name = command + (options.contains("--transports")
            ? "-" + options.get(options.indexOf("--transports") + 1).replace(',', '-') : "");
        Path out = dir.resolve(name);
        args.addAll(List.of("--out", out.toString()));
        String output = exec(args);
        assertThat(output).contains("Result: ", "Report: ");
        return BenchResult.read(out.resolve("result.json"));
    }

    private static void assertComplete(BenchResult result, List<String> systems, int rates) throws Exception {
        assertEnvironment(result);
        assertThat(result.runs()).hasSize(systems.size() * rates);
        assertThat(result.runs().stream().map(r -> r.getString("name")).distinct().toList())
            .containsExactlyElementsOf(systems);
        for (JsonObject run : result.runs()) {
            assertThat(run.getLong("sent")).as(run.getString("name") + " sent").isPositive();
            assertThat(run.getLong("lost")).as(run.getString("name") + " lost").isZero();
            assertThat(run.getLong("failed")).as(run.getString("name") + " failed").isZero();
            assertThat(run.getDouble("achievedRate")).isPositive();
            JsonObject oneWay = run.getJsonObject("oneWay");
            assertThat(Histograms.decode(oneWay.getString("histogram")).getTotalCount())
                .as("histogram of " + run.getString("name")).isEqualTo(run.getLong("received"))
                .isEqualTo(oneWay.getLong("count"));
            assertThat(oneWay.getJsonObject("percentiles").fieldNames())
                .contains("p50", "p90", "p99", "p99.9", "p99.99", "max");
            assertThat(run.getJsonObject("system").getString("address")).isNotBlank();
        }
        assertReportRenders(result, systems);
    }

    private static void assertEnvironment(BenchResult result) {
        JsonObject json = result.json();
        assertThat(json.getString("schema")).isEqualTo(BenchResult.SCHEMA);
        assertThat(json.getString("commit")).isNotBlank();
        assertThat(json.getString("finished")).isNotBlank();
        assertThat(json.getJsonObject("machine").getInteger("cpus")).isPositive();
        assertThat(json.getJsonObject("machine").getString("kernel")).isNotBlank();
        assertThat(json.getJsonObject("jvm").getString("version")).isNotBlank();
        assertThat(json.getJsonObject("jvm").getJsonArray("inputArguments")).isNotNull();
        assertThat(json.getJsonObject("config").getJsonArray("systems")).isNotEmpty();
    }

    /** The report parses, and every system has a plotted line with points. */
    private static void assertReportRenders(BenchResult result, List<String> systems) throws Exception {
        Path html = dir.resolve(result.json().getJsonArray("arguments").getList().get(
            result.json().getJsonArray("arguments").getList().indexOf("--out") + 1).toString()).resolve("report.html");
        Document page = assertReportParses(html);
        NodeList lines = page.getElementsByTagNameNS("http://www.w3.org/2000/svg", "polyline");
        List<String> plotted = new ArrayList<>();
        for (int i = 0; i < lines.getLength(); i++) {
            Element line = (Element) lines.item(i);
            if (!line.getAttribute("points").isBlank()) {
                plotted.add(line.getAttribute("data-name"));
            }
        }
        assertThat(plotted).as("plotted lines").containsAll(systems);
    }

    private static Document assertReportParses(Path html) throws Exception {
        assertThat(html).exists();
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        Document page = factory.newDocumentBuilder().parse(html.toFile());
        assertThat(page.getElementsByTagName("h1").item(0).getTextContent()).startsWith("courier-bench");
        return page;
    }

    private static String exec(List<String> args) throws IOException, InterruptedException {
        Process p = start(args);
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("finished").isTrue();
        assertThat(p.exitValue()).as("exit code of %s; output:%n%s", args, out).isZero();
        return out;
    }

    private static Process start(List<String> args) throws IOException {
        List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m", "-jar", JAR.toString()));
        command.addAll(args);
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }
}
