package io.courier.bench.floor;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.bench.load.Pair;
import io.courier.bench.load.Payloads;
import io.courier.bench.load.Target;
import io.courier.bench.load.Targets;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class FloorServerProcessTest {

    @Test
    void shouldPrintReadyServeAndExitWhenStandardInputCloses() throws Exception {
        Process process = new ProcessBuilder(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
            "-cp", System.getProperty("java.class.path"),
            FloorServer.class.getName(), "relay"))
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
        try {
            BufferedReader stdout = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            String ready = stdout.readLine();
            assertThat(ready).startsWith("READY relay://127.0.0.1:");

            // It really serves: one pair, a few messages.
            try (Target target = Targets.open(ready.substring("READY ".length()), Map.of())) {
                CountingSink sink = new CountingSink(10);
                Pair pair = target.openPair(0, sink).get(30, TimeUnit.SECONDS);
                long base = System.nanoTime();
                for (int i = 0; i < 10; i++) {
                    pair.send(Payloads.create(100, base + i));
                }
                assertThat(sink.all.await(30, TimeUnit.SECONDS)).isTrue();
                assertThat(sink.received).hasSize(10);
                pair.close();
            }

            process.getOutputStream().close();
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("exited after stdin closed").isTrue();
            assertThat(process.exitValue()).isZero();
            assertThat(stdout.readLine()).as("nothing after READY on stdout").isNull();
        } finally {
            process.destroyForcibly();
        }
    }
}
