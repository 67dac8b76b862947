package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.client.example.SendAndWait;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's client SDK example is this module's SendAndWait, verbatim, and it runs. */
class ReadmeExampleTest {

    private static final String FILE = "client/src/test/java/io/courier/client/example/SendAndWait.java";

    @TempDir
    Path dir;

    @Test
    void shouldShowTheExampleExactlyAsItIsBuilt() throws Exception {
        Path root = Path.of("..");
        String readme = Files.readString(root.resolve("README.md"));
        String marker = "<!-- example: " + FILE + " -->\n```java\n";
        int start = readme.indexOf(marker);
        assertThat(start).as("README marks the example").isNotNegative();
        int from = start + marker.length();
        assertThat(readme.substring(from, readme.indexOf("```", from))).isEqualTo(Files.readString(root.resolve(FILE)));
    }

    @Test
    void shouldRunTheExampleToADoubleTick() throws Exception {
        try (TestServer server = new TestServer(dir).start();
             CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), new Recorder())) {
            Path out = dir.resolve("example.txt");
            ProcessBuilder example = new ProcessBuilder(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
                "-cp", System.getProperty("java.class.path"), SendAndWait.class.getName(),
                server.tcp().toString(), "alice", "bob"))
                .directory(dir.toFile()).redirectErrorStream(true).redirectOutput(out.toFile());
            example.environment().put("COURIER_TOKEN", server.token("alice"));
            Process process = example.start();
            assertThat(process.waitFor(60, SECONDS)).isTrue();
            String printed = Files.readString(out);
            assertThat(process.exitValue()).as(printed).isZero();
            assertThat(printed).contains("is SENT", "is DELIVERED", "OUTGOING Hello from the SDK DELIVERED");
            assertThat(dir.resolve("alice.db")).exists();
            await().atMost(10, SECONDS).until(() -> bob.history("alice").size() == 1);
        }
    }
}
