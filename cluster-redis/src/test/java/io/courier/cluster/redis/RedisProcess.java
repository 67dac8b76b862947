package io.courier.cluster.redis;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code redis-server} (Debian's, installed by .ci/redis.sh) on 127.0.0.1 with a port of
 * its own and nothing written to disk, for tests. {@link #restart()} stops it and starts it again
 * on the same port, empty: what a Redis restart without persistence does to a cluster.
 */
public final class RedisProcess implements AutoCloseable {

    public final int port;
    private Process process;

    private RedisProcess(int port) {
        this.port = port;
    }

    /** Starts one on a free loopback port. */
    public static RedisProcess start() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        RedisProcess redis = new RedisProcess(port);
        redis.launch();
        return redis;
    }

    private void launch() throws Exception {
        Process started = new ProcessBuilder(List.of("redis-server", "--port", Integer.toString(port),
            "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"))
            .redirectErrorStream(true).start();
        CompletableFuture<Void> ready = CompletableFuture.runAsync(() -> {
            try {
                BufferedReader out = new BufferedReader(new InputStreamReader(started.getInputStream(),
                    StandardCharsets.UTF_8));
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    if (line.contains("Ready to accept connections")) {
                        // Keep reading, so a full pipe never stops the server.
                        Thread drain = new Thread(() -> drain(out), "redis-" + port + "-output");
                        drain.setDaemon(true);
                        drain.start();
                        return;
                    }
                }
                throw new IllegalStateException("redis-server exited before it was ready");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        try {
            ready.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            started.destroyForcibly();
            throw new IllegalStateException("redis-server did not start on port " + port
                + " (is it installed? bash .ci/redis.sh)", e);
        }
        this.process = started;
    }

    private static void drain(BufferedReader out) {
        try {
            while (out.readLine() != null) {
                // discard
            }
        } catch (IOException ignored) {
            // the process ended
        }
    }

    public String uri() {
        return "redis://127.0.0.1:" + port;
    }

    /** Stops the server (as kill -9 would: nothing saved), then starts an empty one on the same port. */
    public void restart() throws Exception {
        stop();
        launch();
    }

    /** Stops the server at once. */
    public void stop() throws InterruptedException {
        process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }

    /** Runs one command over RESP and returns the reply's first line (e.g. "$12" or ":3"). */
    public String command(String... words) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            StringBuilder request = new StringBuilder("*").append(words.length).append("\r\n");
            for (String word : words) {
                request.append('$').append(word.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(word)
                    .append("\r\n");
            }
            OutputStream out = socket.getOutputStream();
            out.write(request.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String first = in.readLine();
            if (first != null && first.startsWith("$") && !first.equals("$-1")) {
                return in.readLine();
            }
            return first;
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null) {
            stop();
        }
    }
}
