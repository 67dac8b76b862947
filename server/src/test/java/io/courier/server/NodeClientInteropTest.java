package io.courier.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.MINUTES;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client in {@code interop/node}, written in Node.js from {@code docs/PROTOCOL.md} and the
 * schema alone, holds a whole conversation with a real server over every transport: TCP, UDP,
 * WebSocket with protobuf and JSON, long polling with JSON and protobuf bodies. If the document
 * leaves out or misstates something a client needs, this test fails.
 */
class NodeClientInteropTest {

    private static final long RUN_MINUTES = 5;
    private static final long NPM_CI_MINUTES = 5;
    private static final int MIN_NODE_MAJOR = 20;

    @TempDir
    Path dataDir;

    @Test
    void shouldHoldEveryScenarioOverEveryTransportWithAClientWrittenFromTheProtocolDocument() throws Exception {
        Path client = repositoryRoot().resolve("interop").resolve("node");
        String node = nodeVersion();
        if (!Files.isDirectory(client.resolve("node_modules"))) {
            run(List.of("npm", "ci", "--no-audit", "--no-fund"), client, NPM_CI_MINUTES,
                "npm ci in " + client + " (installs ws and protobufjs pinned in its package-lock.json)");
        }
        try (ServerFixture fixture = new ServerFixture(dataDir)) {
            List<String> command = List.of("node", client.resolve("interop.mjs").toString(),
                "--tcp", fixture.server.address("tcp").toString(),
                "--udp", fixture.server.address("udp").toString(),
                "--ws", fixture.server.address("ws").toString(),
                "--longpoll", fixture.server.address("longpoll").toString(),
                "--key-dir", dataDir.resolve("auth-keys").toString());
            System.out.println("Node.js " + node + ": " + String.join(" ", command));
            List<String> output = run(command, client, RUN_MINUTES, "the Node.js interop client");
            assertThat(output).as("its summary line")
                .contains("interop: all 6 transports passed: tcp, udp, ws-proto, ws-json, longpoll-json, longpoll-proto");
        }
    }

    /** Maven runs a module's tests in the module's folder; the repository is its parent. */
    private static Path repositoryRoot() {
        Path module = Path.of("").toAbsolutePath();
        for (Path dir = module; dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("interop/node/package.json"))) {
                return dir;
            }
        }
        return fail("No interop/node/package.json in " + module + " or any folder above it; run the tests from the repository");
    }

    private static String nodeVersion() throws Exception {
        Process process;
        try {
            process = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
        } catch (IOException e) {
            return fail("This test runs the Node.js interop client in interop/node, and 'node' is not on the PATH ("
                + e.getMessage() + "). Install Node.js 20 or later with npm (nodejs.org lists packages for every system) and run it again.");
        }
        if (!process.waitFor(30, SECONDS)) {
            process.destroyForcibly();
            return fail("'node --version' did not finish within 30 s");
        }
        String version = new String(process.getInputStream().readAllBytes(), UTF_8).trim();
        assertThat(process.exitValue()).as("'node --version' exit status (it printed %s)", version).isZero();
        Matcher major = Pattern.compile("^v(\\d+)\\.").matcher(version);
        if (!major.find() || Integer.parseInt(major.group(1)) < MIN_NODE_MAJOR) {
            return fail("The Node.js interop client needs Node.js " + MIN_NODE_MAJOR + " or later; 'node --version' printed "
                + version + ". Install a newer Node.js and run it again.");
        }
        return version;
    }

    /** Runs a command, copying its output into the test log line by line; fails unless it exits 0 in time. */
    private static List<String> run(List<String> command, Path dir, long minutes, String what) throws Exception {
        Process process;
        try {
            process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            return fail("Cannot start " + what + " (" + String.join(" ", command) + "): " + e.getMessage()
                + ". Install Node.js 20 or later with npm.");
        }
        process.getOutputStream().close();
        List<String> lines = new ArrayList<>();
        Thread copier = new Thread(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), UTF_8))) {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    System.out.println(line);
                    synchronized (lines) {
                        lines.add(line);
                    }
                }
            } catch (IOException e) {
                // The stream closes when the process is destroyed after a timeout; the assertion says why.
                System.out.println("(output of " + what + " ended: " + e.getMessage() + ")");
            }
        }, "output of " + what);
        copier.start();
        boolean finished = process.waitFor(minutes, MINUTES);
        if (!finished) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            process.waitFor(30, SECONDS);
        }
        copier.join(SECONDS.toMillis(30));
        List<String> output;
        synchronized (lines) {
            output = List.copyOf(lines);
        }
        String tail = String.join("\n", output.subList(Math.max(0, output.size() - 20), output.size()));
        assertThat(finished).as("%s finished within %d minutes; its last output:%n%s", what, minutes, tail).isTrue();
        assertThat(process.exitValue()).as("exit status of %s; its last output:%n%s", what, tail).isZero();
        return output;
    }
}
