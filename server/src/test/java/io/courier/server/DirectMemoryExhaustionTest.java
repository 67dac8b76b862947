package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.transport.TransportClient;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.KeyBundleFetch;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real OutOfMemoryError for direct memory on an I/O thread, in the real executable given 48 MiB of
 * it and an unread-output limit set far above that: a client that asks again and again for a key
 * bundle of nearly a megabyte and reads nothing makes the server run out while encoding its
 * answers. The error closes that connection — which returns its buffers — is counted in
 * {@code courier_io_thread_errors_total{kind="out_of_direct_memory"}} and logged once with the
 * connection; the server goes on serving: its other clients chat, a new one says hello.
 */
class DirectMemoryExhaustionTest {

    private static final Pattern COUNT =
        Pattern.compile("courier_io_thread_errors_total\\{kind=\"out_of_direct_memory\"\\} (\\d+)\\.0");

    @TempDir
    Path dir;

    @Test
    void shouldCloseTheConnectionThatRanOutOfDirectMemoryAndServeEveryoneElse() throws Exception {
        // Her key bundle of nearly a megabyte, stored before the server starts: each small fetch
        // asks for a large answer.
        LargeKeyBundle.store(dir.resolve("data"), "mallory", 900_000);
        try (ServerProcess server = new ServerProcess(dir, "transports.tcp.options.max-unread-output-bytes=1073741824")
                .jvm("-XX:MaxDirectMemorySize=48m").start();
             TransportClient tcp = TransportProviders.find("tcp").createClient(TransportSettings.of(0))) {
            TestClient dave = user(server, tcp, "dave").connect();
            TestClient erin = user(server, tcp, "erin").connect();

            try (Socket mallory = new Socket()) {
                mallory.setReceiveBufferSize(16 * 1024);
                mallory.connect(new InetSocketAddress("127.0.0.1", server.tcpPort));
                mallory.setSoTimeout((int) SECONDS.toMillis(60));
                OutputStream out = new BufferedOutputStream(mallory.getOutputStream(), 64 * 1024);
                InputStream in = mallory.getInputStream();
                Frame.newBuilder().setHello(Hello.newBuilder().setUser("mallory")
                    .setToken(Main.mint(server.config(), "mallory", "*", Duration.ofHours(1)))).build().writeDelimitedTo(out);
                Frame fetch = Frame.newBuilder().setKeyBundleFetch(KeyBundleFetch.newBuilder().setUser("mallory")).build();
                // 200 fetches ask for some 180 MB of answers: far more than the 48 MiB there is.
                for (int i = 0; i < 200; i++) {
                    fetch.writeDelimitedTo(out);
                }
                out.flush();
                // While direct memory is exhausted the server's metrics endpoint, in the same JVM, may
                // not answer either: each scrape has a deadline, and one that fails is tried again.
                await().ignoreExceptions().atMost(60, SECONDS).until(() -> outOfDirectMemory(server) >= 1);
                // Reading now, she finds the end of the stream (or a reset) after what the kernel had taken.
                try {
                    in.transferTo(OutputStream.nullOutputStream());
                } catch (IOException reset) {
                    // closed with her requests unread: ended all the same
                }
            }
            assertThat(outOfDirectMemory(server)).as("counted once, for her connection").isEqualTo(1);

            // Everyone else is served.
            dave.send("erin", "d-1", "still here");
            erin.send("dave", "e-1", "me too");
            await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> dave.deliveredCount() == 1
                && erin.deliveredCount() == 1);
            assertThat(dave.errors).isEmpty();
            assertThat(erin.errors).isEmpty();
            TestClient grace = user(server, tcp, "grace").connect();
            assertThat(grace.welcome().getUser()).isEqualTo("grace");

            String log = server.logText();
            assertThat(log.lines().filter(line -> line.contains("while serving tcp connection")))
                .as("logged once, with the connection and its user").singleElement().asString()
                .contains("(mallory/1)").contains("the server goes on");
        }
    }

    private static TestClient user(ServerProcess server, TransportClient tcp, String user) {
        return new TestClient(tcp, server.address(), user, "1", Main.mint(server.config(), user, "*", Duration.ofHours(1)));
    }

    private static long outOfDirectMemory(ServerProcess server) throws Exception {
        String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + server.adminPort + "/metrics")).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = COUNT.matcher(metrics);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }
}
