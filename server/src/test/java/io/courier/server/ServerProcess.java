package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The server executable as a child process with its own JVM, as an operator would run it. */
final class ServerProcess implements AutoCloseable {

    final int tcpPort;
    final int adminPort;
    final Path dataDir;
    final Path log;
    private final List<String> overrides;
    private final List<String> jvmOptions = new ArrayList<>();
    private Process process;
    private int starts;

    ServerProcess(Path dir, String... overrides) throws IOException {
        this.tcpPort = freePort();
        this.adminPort = freePort();
        this.dataDir = dir.resolve("data");
        this.log = dir.resolve("server.log");
        this.overrides = List.of(overrides);
    }

    /** What a finished run of the executable said and how it ended. */
    record Result(int exitStatus, String stdout, String stderr) {
        /** Standard error's lines that are not log lines (the server logs there too). */
        List<String> errorLines() {
            return stderr.lines().filter(line -> !LOG_LINE.matcher(line).find()).toList();
        }
    }

    private static final java.util.regex.Pattern LOG_LINE =
        java.util.regex.Pattern.compile("^\\d{4}-\\d{2}-\\d{2}T\\S+ \\[[^]]+\\] (INFO|WARN|ERROR|DEBUG) ");

    /**
     * Runs the executable with {@code args} in {@code workDir}, no input, until it exits (a
     * minute at most), as a person would at a terminal.
     */
    static Result run(Path workDir, String... args) throws IOException, InterruptedException {
        List<String> command = javaCommand();
        command.addAll(List.of(args));
        Path out = Files.createTempFile(workDir, "stdout", ".txt");
        Path err = Files.createTempFile(workDir, "stderr", ".txt");
        Process process = new ProcessBuilder(command).directory(workDir.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!process.waitFor(60, SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException(String.join(" ", args) + " did not exit within a minute:\n"
                + Files.readString(out) + Files.readString(err));
        }
        return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** The JVM and class path of this test run, with the flags the jar's manifest gives. */
    private static List<String> javaCommand() {
        return new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
            "-Xmx512m",
            "-cp", System.getProperty("java.class.path"),
            Main.class.getName()));
    }

    /** Adds options for the server's JVM, e.g. {@code -XX:MaxDirectMemorySize=48m}; call before {@link #start()}. */
    ServerProcess jvm(String... options) {
        jvmOptions.addAll(List.of(options));
        return this;
    }

    /** Starts the server and waits until it serves. */
    ServerProcess start() throws IOException {
        List<String> command = javaCommand();
        // After the defaults (the last -Xmx wins), before the class path.
        command.addAll(command.indexOf("-cp"), jvmOptions);
        command.addAll(List.of(
            "--set", "data-dir=" + dataDir,
            "--set", "transports.tcp.port=" + tcpPort,
            "--set", "transports.ws.port=0",
            "--set", "transports.longpoll.port=0",
            "--set", "transports.udp.port=0",
            "--set", "admin.port=" + adminPort,
            "--set", "media.port=0"));
        for (String override : overrides) {
            command.add("--set");
            command.add(override);
        }
        Path thisLog = log.resolveSibling(log.getFileName() + "." + (++starts));
        process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(thisLog.toFile()).start();
        await().atMost(90, SECONDS).until(() -> {
            if (!process.isAlive()) {
                throw new IllegalStateException("The server exited with " + process.exitValue() + ":\n"
                    + Files.readString(thisLog));
            }
            return Files.readString(thisLog).contains("Courier ready");
        });
        return this;
    }

    URI address() {
        return URI.create("tcp://127.0.0.1:" + tcpPort);
    }

    ServerConfig config() {
        return ConfigLoader.load(null, List.of("data-dir=" + dataDir));
    }

    String logText() throws IOException {
        return Files.readString(log.resolveSibling(log.getFileName() + "." + starts));
    }

    /** SIGTERM, then wait for the exit. */
    boolean terminate() throws InterruptedException {
        process.destroy();
        return process.waitFor(60, SECONDS);
    }

    /** SIGKILL: no shutdown hook, no flush — what a crash looks like. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(60, SECONDS);
    }

    @Override
    public void close() {
        if (process != null) {
            process.destroyForcibly();
        }
    }

    /**
     * A free port below Linux's ephemeral range (32768 and up): the server binds several of its
     * listeners to port 0, and the kernel may hand one of them a port chosen here from that range
     * and released, so that the server's own bind of it fails (seen in CI: the media service took
     * the admin port).
     */
    private static int freePort() throws IOException {
        java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
        IOException last = null;
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = random.nextInt(20_000, 32_000);
            try (ServerSocket socket = new ServerSocket()) {
                socket.setReuseAddress(true);
                socket.bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port));
                return port;
            } catch (IOException e) {
                last = e; // taken: try another
            }
        }
        throw new IOException("No free port between 20000 and 32000 on loopback", last);
    }
}
