package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.server.internal.ConnectionLimits;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Receipt.Status;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * More silent connections than the server may hold cannot lock a real client out. The server (a
 * child process, configured to hold its open-file limit less 1,000) gets about 7% more connections
 * that never say hello than its limit, over every transport — TCP, WebSocket without an upgrade
 * and upgraded, long-polling sessions, UDP handshakes — from three client processes (one process
 * may hold at most the open-file limit) and thirty source addresses (to stay under the limit per
 * address). Then a new client still says hello and is welcomed, a bystander pair chats throughout
 * with no error and no message slower than a second, every silent connection is closed — evicted
 * to make room, or for saying no hello — and the server's connection gauges fall back to the
 * bystanders. A lower open-file limit scales the test down.
 */
class SilentConnectionFloodTest {

    private static final int CLIENT_PROCESSES = 3;
    private static final int SOURCES = 30;
    private static final Pattern READY = Pattern.compile("Courier ready: tcp (\\S+), udp (\\S+), ws (\\S+), longpoll (\\S+),");

    // Kept when the test fails: the server's log and the client processes' are there.
    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path dir;

    @Test
    void shouldAdmitANewClientAndCloseEverySilentOneWhenSilentConnectionsOutnumberTheLimit() throws Exception {
        long started = System.nanoTime();
        long fdLimit = ConnectionLimits.openFileLimit().orElseThrow();
        int limit = (int) (fdLimit >= 4_000 ? fdLimit - 1_000 : fdLimit * 3 / 4);
        int silent = limit * 20_400 / 19_000;
        Map<SilentClients.Kind, Integer> wanted = new TreeMap<>();
        // TCP connections open fastest; the others need a round trip or two each.
        wanted.put(SilentClients.Kind.WS, silent * 12 / 100);
        wanted.put(SilentClients.Kind.WS_UPGRADED, silent * 8 / 100);
        wanted.put(SilentClients.Kind.LONGPOLL, silent * 8 / 100);
        wanted.put(SilentClients.Kind.UDP, silent * 6 / 100);
        wanted.put(SilentClients.Kind.TCP, silent - wanted.values().stream().mapToInt(Integer::intValue).sum());

        try (ServerProcess server = new ServerProcess(dir, "storage.backend=memory", "limits.max-connections=" + limit,
            "router.hello-timeout-ms=25000", "transports.udp.options.handshakes-per-second=100000",
            "transports.udp.options.handshake-burst=100000", "transports.longpoll.options.session-timeout-ms=26000",
            // Sweeps every second, so that timed-out connections are closed a second's worth at a time.
            "router.heartbeat-interval-ms=2000", "transports.longpoll.options.poll-timeout-ms=4000")
            .start()) {
            Matcher ready = READY.matcher(server.logText());
            assertThat(ready.find()).as("the ready line names every address").isTrue();
            URI metrics = URI.create("http://127.0.0.1:" + server.adminPort + "/metrics");
            TransportClient tcp = TransportProviders.find("tcp").createClient(TransportSettings.of(0));
            Bystanders bystanders = new Bystanders(server.address(),
                user -> Main.mint(server.config(), user, "*", Duration.ofHours(1)), 50);
            List<Process> clients = new ArrayList<>();
            try {
                bystanders.start();

                List<ClientProcess> processes = new ArrayList<>();
                for (int p = 0; p < CLIENT_PROCESSES; p++) {
                    List<String> sources = new ArrayList<>();
                    for (int s = p; s < SOURCES; s += CLIENT_PROCESSES) {
                        sources.add("127.0.0." + (2 + s));
                    }
                    List<String> args = new ArrayList<>(List.of("tcp=" + ready.group(1), "udp=" + ready.group(2),
                        "ws=" + ready.group(3), "longpoll=" + ready.group(4), "sources=" + String.join(",", sources)));
                    final int share = p;
                    wanted.forEach((kind, n) -> args.add(kind.name() + "=" + (n / CLIENT_PROCESSES
                        + (share < n % CLIENT_PROCESSES ? 1 : 0))));
                    ClientProcess process = new ClientProcess(args, dir.resolve("clients-" + p + ".log"));
                    processes.add(process);
                    clients.add(process.process);
                }
                for (ClientProcess process : processes) {
                    process.opened.get(90, SECONDS);
                }
                long flooded = System.nanoTime();
                double heldAtPeak = metric(metrics, "courier_admitted_connections", "");

                // A real client says hello at once, and is welcomed although the server is full.
                TestClient newcomer = new TestClient(tcp, server.address(), "nina", "1",
                    Main.mint(server.config(), "nina", "*", Duration.ofHours(1))).connect();
                assertThat(newcomer.welcome().getUser()).isEqualTo("nina");
                long welcomed = System.nanoTime();
                newcomer.send("olga", "n-1", "made it in");
                await().atMost(30, SECONDS).until(() -> newcomer.serverIdOf("n-1") > 0);
                assertThat(newcomer.errors).isEmpty();
                newcomer.disconnect();

                boolean drainedInTime = true;
                try {
                    await().atMost(60, SECONDS).pollInterval(Duration.ofMillis(500)).until(() ->
                        metric(metrics, "courier_admitted_connections", "") == 2
                            && metric(metrics, "courier_connections", "") == 2);
                    int heldByClients = processes.stream().mapToInt(ClientProcess::openedWithFiles).sum();
                    await().atMost(30, SECONDS).until(() -> processes.stream().mapToInt(ClientProcess::ended).sum()
                        >= heldByClients);
                } catch (org.awaitility.core.ConditionTimeoutException stillHeld) {
                    drainedInTime = false;
                }
                long drained = System.nanoTime();

                int opened = processes.stream().mapToInt(p -> p.total("opened")).sum();
                int refusedSeen = processes.stream().mapToInt(p -> p.total("refused")).sum();
                int failed = processes.stream().mapToInt(p -> p.total("failed")).sum();
                double evicted = metric(metrics, "courier_connections_evicted_total", "max-connections\"");
                double evictedPerAddress = metric(metrics, "courier_connections_evicted_total", "max-connections-per-address");
                double noHello = metric(metrics, "courier_connections_evicted_total", "no-hello");
                double refused = metric(metrics, "courier_connections_refused_total", "");
                double aborted = metric(metrics, "courier_connections_aborted_total", "");
                double helloTimeouts = metric(metrics, "courier_errors_total", "NOT_AUTHENTICATED");
                System.out.printf("Silent flood: open-file limit %d, limits.max-connections %d, %d silent connections "
                        + "wanted %s%n", fdLimit, limit, silent, wanted);
                System.out.printf("  opened %d, refused %d (server: %.0f), failed %d; held at the peak %.0f%n", opened,
                    refusedSeen, refused, failed, heldAtPeak);
                System.out.printf("  evicted to make room %.0f (per address %.0f), closed for no hello: by the router %.0f, "
                    + "by the gate %.0f; closed at once past the linger allowance %.0f%n", evicted, evictedPerAddress,
                    helloTimeouts, noHello, aborted);
                for (ClientProcess process : processes) {
                    System.out.println("  client process: " + process.openedLine + " / " + process.lastStatus);
                }
                System.out.printf("  flood %.1f s, newcomer welcomed %.2f s later, drained %.1f s later, %.1f s in all%n",
                    (flooded - started) / 1e9, (welcomed - flooded) / 1e9, (drained - welcomed) / 1e9,
                    (System.nanoTime() - started) / 1e9);

                System.out.printf("  still held: %.0f admitted, %.0f connections by transport (%s)%n",
                    metric(metrics, "courier_admitted_connections", ""), metric(metrics, "courier_connections", ""),
                    java.util.stream.Stream.of("tcp", "ws", "udp", "longpoll").map(t -> {
                        try {
                            return t + "=" + (int) metric(metrics, "courier_connections", "\"" + t + "\"");
                        } catch (Exception e) {
                            return t + "=?";
                        }
                    }).toList());

                assertThat(drainedInTime).as("the gauges fell to the two bystanders, and every silent client "
                    + "saw its connection closed").isTrue();
                int udpUnanswered = processes.stream().mapToInt(p -> p.count("failed", "udp")).sum();
                assertThat(failed - udpUnanswered).as("every TCP, WebSocket and long-polling connection was answered")
                    .isZero();
                // A server busy with a flood may drop handshake datagrams (UDP promises no more); the
                // client sends each twenty times over ten seconds, so almost all are answered.
                assertThat(udpUnanswered).as("UDP handshakes never answered")
                    .isLessThanOrEqualTo(wanted.get(SilentClients.Kind.UDP) / 50);
                assertThat(opened + refusedSeen + udpUnanswered).isEqualTo(silent);
                assertThat(evicted).as("the server was pushed past its limit and made room").isPositive();
                bystanders.check();
            } finally {
                bystanders.close();
                clients.forEach(process -> {
                    try {
                        process.getOutputStream().close();
                        if (!process.waitFor(10, SECONDS)) {
                            process.destroyForcibly();
                        }
                    } catch (IOException | InterruptedException e) {
                        process.destroyForcibly();
                    }
                });
                tcp.close();
            }
        }
    }

    /** The sum of a metric's samples whose line contains {@code filter}, from the server's /metrics. */
    private static double metric(URI metrics, String name, String filter) throws Exception {
        String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(metrics).build(),
            HttpResponse.BodyHandlers.ofString()).body();
        double sum = 0;
        for (String line : text.lines().toList()) {
            if ((line.startsWith(name + "{") || line.startsWith(name + " ")) && line.contains(filter)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    /** One child process of silent clients, and what it reports. */
    private static final class ClientProcess {
        final Process process;
        final CompletableFuture<String> opened = new CompletableFuture<>();
        volatile String openedLine = "";
        volatile String lastStatus = "";
        final StringBuffer said = new StringBuffer();

        ClientProcess(List<String> args, Path errors) throws IOException {
            // At the lowest CPU priority: an attacker's machines are not the server's, but here they
            // share its two cores, and what is measured is what the server gives the bystanders
            // while it serves (answers, evicts, closes) every one of the attacker's connections.
            List<String> command = new ArrayList<>(List.of("nice", "-n", "19",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", System.getProperty("java.class.path"), SilentClients.class.getName()));
            command.addAll(args);
            process = new ProcessBuilder(command).redirectError(errors.toFile()).start();
            Thread reader = new Thread(() -> {
                try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                    for (String line; (line = out.readLine()) != null; ) {
                        if (line.startsWith("opened ")) {
                            openedLine = line;
                            opened.complete(line);
                        } else if (line.startsWith("status")) {
                            lastStatus = line;
                        } else {
                            said.append(line).append('\n');
                        }
                    }
                } catch (IOException e) {
                    opened.completeExceptionally(e);
                }
                String stderr;
                try {
                    stderr = java.nio.file.Files.readString(errors);
                } catch (IOException e) {
                    stderr = e.toString();
                }
                opened.completeExceptionally(new IllegalStateException("A client process ended before opening all:\n"
                    + said + stderr));
            }, "silent-clients-output");
            reader.setDaemon(true);
            reader.start();
        }

        /** A count from the opened line: {@code opened …, refused …, failed …}. */
        int total(String what) {
            Matcher counts = Pattern.compile(what + " (\\S+)").matcher(openedLine);
            int sum = 0;
            if (counts.find()) {
                for (String pair : counts.group(1).split(",")) {
                    sum += Integer.parseInt(pair.substring(pair.indexOf('=') + 1));
                }
            }
            return sum;
        }

        /** One transport's count from the opened line, e.g. {@code count("failed", "udp")}. */
        int count(String what, String kind) {
            Matcher counts = Pattern.compile(what + " \\S*\\b" + kind + "=(\\d+)").matcher(openedLine);
            return counts.find() ? Integer.parseInt(counts.group(1)) : 0;
        }

        /** Connections opened that this process holds a socket for (long-polling sessions hold none). */
        int openedWithFiles() {
            Matcher longpoll = Pattern.compile("opened \\S*longpoll=(\\d+)").matcher(openedLine);
            return total("opened") - (longpoll.find() ? Integer.parseInt(longpoll.group(1)) : 0);
        }

        /** Connections the server has ended, as this process saw them. */
        int ended() {
            int sum = 0;
            for (String pair : lastStatus.split(" ")) {
                int eq = pair.indexOf('=');
                if (eq > 0) {
                    sum += Integer.parseInt(pair.substring(eq + 1));
                }
            }
            return sum;
        }
    }
}
