package io.courier.bench.sut;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;

/** A process this benchmark started, with its output in a log file. */
final class ChildProcess implements AutoCloseable {

    private final Process process;
    private final Path log;

    private ChildProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /**
     * Starts {@code command}, output to {@code log}, and waits (up to {@code timeoutSeconds}) until
     * a line of its output satisfies {@code ready}; returns that line through {@link #readyLine}.
     */
    static ChildProcess start(List<String> command, Path log, Predicate<String> ready, long timeoutSeconds)
        throws IOException {
        Files.createDirectories(log.getParent());
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        ChildProcess child = new ChildProcess(process, log);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (child.readyLine(ready) == null) {
            if (!process.isAlive()) {
                throw new IllegalStateException("'" + String.join(" ", command.subList(0, Math.min(3, command.size())))
                    + "…' exited with " + process.exitValue() + ":\n" + child.tail());
            }
            if (System.nanoTime() - deadline > 0) {
                child.close();
                throw new IllegalStateException("Not ready within " + timeoutSeconds + " s; log " + log + ":\n"
                    + child.tail());
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
        return child;
    }

    /** The first output line satisfying {@code ready}, or null. */
    String readyLine(Predicate<String> ready) throws IOException {
        return Files.readAllLines(log).stream().filter(ready).findFirst().orElse(null);
    }

    long pid() {
        return process.pid();
    }

    String tail() throws IOException {
        List<String> lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    }

    /** SIGTERM, then SIGKILL if it does not stop within 30 s. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
