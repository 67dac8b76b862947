package io.courier.bench.density;

import io.courier.transport.ClientConnection;
import io.courier.transport.ClientListener;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What an idle, authenticated connection costs the server, per transport. Starts the server as a
 * child process (its own heap), opens N connections from this process, each saying hello and then
 * nothing, and compares the server before and after:
 * <ul>
 *   <li>live heap after a full GC ({@code jcmd PID GC.class_histogram}, which collects first);
 *   <li>resident set size ({@code VmRSS}), which also holds Netty's direct buffers and native memory;
 *   <li>the kernel's TCP memory ({@code /proc/net/sockstat}, pages), for the record — not the JVM's.
 * </ul>
 *
 * <pre>
 *   java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -cp bench/target/courier-bench.jar \
 *       io.courier.bench.density.IdleConnectionDensity tcp 10000
 * </pre>
 * One process may hold about 20,000 files here, so N is at most about 18,000 per run.
 */
public final class IdleConnectionDensity {

    private static final Pattern TOTAL = Pattern.compile("Total\\s+\\d+\\s+(\\d+)");
    private static final Pattern RSS = Pattern.compile("VmRSS:\\s+(\\d+) kB");
    private static final Pattern TCP_MEM = Pattern.compile("TCP:.*mem (\\d+)");

    private IdleConnectionDensity() {
    }

    public static void main(String[] args) throws Exception {
        String transport = args.length > 0 ? args[0] : "tcp";
        int count = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
        Path dir = Files.createTempDirectory("courier-density");
        int port = freePort();
        List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx2g", "-XX:+UseG1GC",
            "-cp", System.getProperty("java.class.path"), "io.courier.server.Main",
            "--set", "data-dir=" + dir, "--set", "auth.mode=insecure", "--set", "storage.backend=memory",
            "--set", "admin.port=0", "--set", "router.heartbeat-interval-ms=3600000",
            "--set", "router.hello-timeout-ms=3600000"));
        for (String name : List.of("tcp", "udp", "ws", "longpoll")) {
            command.add("--set");
            command.add("transports." + name + (name.equals(transport) ? ".port=" + port : ".enabled=false"));
        }
        if (transport.equals("udp")) {
            // One source address opens every connection here: lift the per-address handshake limit.
            command.addAll(List.of("--set", "transports.udp.options.handshakes-per-second=1000000",
                "--set", "transports.udp.options.handshake-burst=1000000"));
        }
        Path log = dir.resolve("server.log");
        Process server = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            for (int i = 0; i < 600 && !Files.readString(log).contains("Metrics at"); i++) {
                if (server.waitFor(100, TimeUnit.MILLISECONDS)) {
                    throw new IllegalStateException("Server exited: " + Files.readString(log));
                }
            }
            URI address = URI.create(switch (transport) {
                case "tcp" -> "tcp://127.0.0.1:" + port;
                case "ws" -> "ws://127.0.0.1:" + port + "/ws";
                case "longpoll" -> "http://127.0.0.1:" + port + "/lp";
                case "udp" -> "udp://127.0.0.1:" + port;
                default -> throw new IllegalArgumentException("transport must be tcp, udp, ws or longpoll");
            });
            try (TransportClient client = TransportProviders.find(transport).createClient(TransportSettings.of(0))) {
                // Warm the code paths so class loading and JIT are not charged to connections.
                open(client, address, 200, "warm").forEach(ClientConnection::close);
                long heap0 = liveHeap(server.pid());
                long rss0 = rss(server.pid());
                long tcp0 = tcpPages();
                long started = System.nanoTime();
                List<ClientConnection> connections = open(client, address, count, "user");
                double seconds = (System.nanoTime() - started) / 1e9;
                long heap1 = liveHeap(server.pid());
                long rss1 = rss(server.pid());
                long tcp1 = tcpPages();
                System.out.printf("transport=%s connections=%d connect-rate=%.0f/s%n", transport, count, count / seconds);
                System.out.printf("live heap per connection: %.0f bytes (%.1f MB for %d)%n",
                    (heap1 - heap0) / (double) count, (heap1 - heap0) / 1e6, count);
                System.out.printf("RSS per connection: %.0f bytes (heap, direct buffers and native memory)%n",
                    (rss1 - rss0) / (double) count);
                System.out.printf("kernel TCP memory per connection (both ends, loopback): %.0f bytes%n",
                    (tcp1 - tcp0) * 4096.0 / count);
                connections.forEach(ClientConnection::close);
            }
        } finally {
            server.destroy();
            server.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static List<ClientConnection> open(TransportClient client, URI address, int count, String prefix)
        throws Exception {
        CountDownLatch welcomed = new CountDownLatch(count);
        List<ClientConnection> connections = new ArrayList<>(count);
        ClientListener listener = frame -> {
            if (frame.hasWelcome()) {
                welcomed.countDown();
            }
        };
        int batch = 256;
        for (int start = 0; start < count; start += batch) {
            List<java.util.concurrent.CompletableFuture<ClientConnection>> pending = new ArrayList<>();
            for (int i = start; i < Math.min(count, start + batch); i++) {
                pending.add(client.connect(address, listener));
            }
            for (int i = 0; i < pending.size(); i++) {
                ClientConnection connection = pending.get(i).get(60, TimeUnit.SECONDS);
                connection.send(Frame.newBuilder().setHello(Hello.newBuilder().setUser(prefix + (start + i))).build());
                connections.add(connection);
            }
        }
        if (!welcomed.await(300, TimeUnit.SECONDS)) {
            throw new IllegalStateException("Only " + (count - welcomed.getCount()) + " of " + count + " welcomed");
        }
        return connections;
    }

    private static long liveHeap(long pid) throws IOException, InterruptedException {
        String out = jcmd(pid, "GC.class_histogram");
        Matcher m = TOTAL.matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("No total in the class histogram:\n" + out);
        }
        return Long.parseLong(m.group(1));
    }

    private static long rss(long pid) throws IOException {
        Matcher m = RSS.matcher(Files.readString(Path.of("/proc/" + pid + "/status")));
        return m.find() ? Long.parseLong(m.group(1)) * 1024 : 0;
    }

    private static long tcpPages() throws IOException {
        Matcher m = TCP_MEM.matcher(Files.readString(Path.of("/proc/net/sockstat")));
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    private static String jcmd(long pid, String what) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
            Long.toString(pid), what).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor(60, TimeUnit.SECONDS);
        return out;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
