package io.courier.client;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.MINUTES;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The browser client and this SDK read each other's end-to-end encrypted messages: alice's page
 * in headless Chromium ({@code browser-test/interop.mjs}, WebCrypto through the page's e2e.js) and
 * SDK clients on the same server exchange messages both ways in shared-key mode (bob) and in
 * Signal mode (carol: X3DH started by the page, then ratchet steps both ways; dave: X3DH started
 * by the SDK), each decrypting the other's, and both show the same safety number; the page
 * reloads and its sessions come back from IndexedDB; an image carol sends encrypted shows on the
 * page, decrypted there; once its one-time pre-keys run low the page publishes more; a message
 * to erin goes to her one device, and after she adds a second the page's next one is refused
 * with STALE_DEVICES, encrypted for both and sent again; when carol reinstalls (a new identity),
 * the page decrypts her next message, says her safety number changed, and shows the new one, the
 * same as hers.
 */
class BrowserInteropTest {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final long RUN_MINUTES = 3;

    @TempDir
    Path dir;

    private TestServer server;
    private byte[] key;
    private CourierClient bob;
    private final Recorder bobSaw = new Recorder();
    private CourierClient carol;
    private Recorder carolSaw = new Recorder();
    private CourierClient dave;
    private final Recorder daveSaw = new Recorder();
    private Recorder daveAgainSaw;
    private CourierClient erin1;
    private final Recorder erin1Saw = new Recorder();
    private CourierClient erin2;
    private final Recorder erin2Saw = new Recorder();

    @Test
    void shouldExchangeMessagesThatEachSideDecryptsWithTheBrowserInSharedKeyAndSignalMode() throws Exception {
        Path driver = repositoryRoot().resolve("browser-test");
        if (!Files.isExecutable(CHROMIUM)) {
            fail("This test runs the browser client in Debian's Chromium, and " + CHROMIUM + " is missing. Install it"
                + " (apt-get install -y chromium, or bash .ci/browser.sh) and run it again.");
        }
        if (!Files.isDirectory(driver.resolve("node_modules").resolve("playwright-core"))) {
            fail("browser-test/node_modules has no playwright-core: run bash .ci/browser.sh first");
        }
        try (TestServer started = new TestServer(dir, MediaServers.filesystem()).start()) {
            server = started;
            key = new byte[32];
            new SecureRandom().nextBytes(key);
            bob = SignalExchangeTest.signal(server, "bob", "1", dir.resolve("bob.db"), bobSaw);
            carol = SignalExchangeTest.signal(server, "carol", "1", dir.resolve("carol.db"), carolSaw);
            dave = SignalExchangeTest.signal(server, "dave", "1", dir.resolve("dave.db"), daveSaw);
            erin1 = SignalExchangeTest.signal(server, "erin", "1", dir.resolve("erin1.db"), erin1Saw);
            try {
                bob.setSharedKey("alice", key);
                String page = "http://127.0.0.1:" + server.server().adminPort() + "/app/";
                ProcessBuilder builder = new ProcessBuilder("node", driver.resolve("interop.mjs").toString(), "--url", page)
                    .directory(driver.toFile()).redirectErrorStream(true);
                builder.environment().put("COURIER_TOKENS", "{\"alice\":\"" + server.token("alice") + "\"}");
                Process process = builder.start();
                ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor();
                List<String> output = new ArrayList<>();
                try {
                    watchdog.schedule(() -> {
                        process.descendants().forEach(ProcessHandle::destroyForcibly);
                        process.destroyForcibly();
                    }, RUN_MINUTES, MINUTES);
                    try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), UTF_8));
                         Writer answers = new OutputStreamWriter(process.getOutputStream(), UTF_8)) {
                        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                            System.out.println(line);
                            output.add(line);
                            if (line.startsWith("control: ")) {
                                String answer;
                                try {
                                    answer = answer(line.substring("control: ".length()));
                                } catch (Throwable e) {
                                    answer = "failed: " + e;
                                    output.add(answer);
                                }
                                answers.write(answer + "\n");
                                answers.flush();
                            }
                        }
                    }
                    assertThat(process.waitFor(30, SECONDS)).as("the driver finished").isTrue();
                    String tail = String.join("\n", output.subList(Math.max(0, output.size() - 40), output.size()));
                    assertThat(process.exitValue()).as("exit status of the interop driver; its last output:%n%s", tail).isZero();
                    assertThat(output).contains(
                        "interop: all passed: shared key both ways, Signal both ways, the same safety number, an encrypted image, a device added, safety number changed, a silent reinstall");
                } finally {
                    watchdog.shutdownNow();
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly();
                }
            } finally {
                bob.close();
                carol.close();
                dave.close();
                erin1.close();
                if (erin2 != null) {
                    erin2.close();
                }
            }
        }
    }

    /** Does what the driver asks of the SDK side and says what to answer it. */
    private String answer(String command) throws Exception {
        switch (command) {
            case "shared-key" -> {
                return HexFormat.of().formatHex(key);
            }
            case "sdk-send-shared" -> {
                bob.sendText("alice", "Shared key, from the Java SDK: bergamot-3141");
                return "sent";
            }
            case "sdk-receive-shared" -> {
                awaitDecrypted(bobSaw, "Shared key, from the browser: cardamom-2718", Encryption.SHARED_KEY);
                return "received";
            }
            case "sdk-receive-signal-1" -> {
                awaitDecrypted(carolSaw, "Signal, from the browser first: juniper-1618", Encryption.SIGNAL);
                return "received";
            }
            case "sdk-send-signal" -> {
                carol.sendText("alice", "Signal, the SDK's answer: saffron-1414");
                return "sent";
            }
            case "sdk-receive-signal-2" -> {
                awaitDecrypted(carolSaw, "Signal, the browser again: sumac-1732", Encryption.SIGNAL);
                return "received";
            }
            case "safety-number" -> {
                return carol.safetyNumber("alice").get(30, SECONDS);
            }
            case "sdk-send-after-reload" -> {
                carol.sendText("alice", "Signal, the SDK after the page reloaded: nutmeg-5772");
                return "sent";
            }
            case "sdk-receive-after-reload" -> {
                awaitDecrypted(carolSaw, "Signal, the reloaded page answers: clove-6931", Encryption.SIGNAL);
                return "received";
            }
            case "sdk-send-image" -> {
                // A real PNG, so the page can show it; encrypted before upload, the key in the message.
                java.awt.image.BufferedImage image = new java.awt.image.BufferedImage(40, 30, java.awt.image.BufferedImage.TYPE_INT_RGB);
                for (int x = 0; x < 40; x++) {
                    for (int y = 0; y < 30; y++) {
                        image.setRGB(x, y, (x * 6) << 16 | (y * 8) << 8 | 0x40);
                    }
                }
                Path png = dir.resolve("from-carol.png");
                javax.imageio.ImageIO.write(image, "png", png.toFile());
                carol.sendMedia("alice", png, "image/png");
                return "sent";
            }
            case "erin-receives-first" -> {
                awaitDecrypted(erin1Saw, "Signal, to erin's one device: mace-1001", Encryption.SIGNAL);
                return "received";
            }
            case "erin-second-device" -> {
                erin2 = SignalExchangeTest.signal(server, "erin", "2", dir.resolve("erin2.db"), erin2Saw);
                return "ready";
            }
            case "erin-receives-on-both" -> {
                awaitDecrypted(erin1Saw, "Signal, to both of erin's devices: caraway-2002", Encryption.SIGNAL);
                awaitDecrypted(erin2Saw, "Signal, to both of erin's devices: caraway-2002", Encryption.SIGNAL);
                assertThat(erin2Saw.arrived).as("erin's new device gets no message from before it came")
                    .noneMatch(m -> "Signal, to erin's one device: mace-1001".equals(m.text()));
                return "received";
            }
            case "drain-pre-keys" -> {
                // Each fetch takes one of the page's 100 one-time pre-keys (ids 1 to 100); below
                // 20 left the server sends the page PreKeysLow, and it publishes 100 more.
                try (RawKeyClient zed = new RawKeyClient(server, "zed")) {
                    for (int i = 0; i < 85; i++) {
                        assertThat(zed.fetch("alice").getBundles(0).getOneTimePreKey().getId()).isBetween(1, 100);
                    }
                    await().atMost(30, SECONDS).until(() -> {
                        io.courier.transport.proto.KeyBundles.Bundle b = zed.fetch("alice").getBundles(0);
                        assertThat(b.hasOneTimePreKey()).as("a one-time pre-key of the page's left").isTrue();
                        return b.getOneTimePreKey().getId() > 100;
                    });
                }
                return "replenished";
            }
            case "sdk-first-signal" -> {
                dave.sendText("alice", "Signal, the SDK first: tarragon-2236");
                return "sent";
            }
            case "sdk-receive-dave" -> {
                awaitDecrypted(daveSaw, "Signal, the browser answers dave: fennel-1123", Encryption.SIGNAL);
                return "received";
            }
            case "carol-reinstalls" -> {
                // A new database is a new device identity, under the same user and device id.
                carol.close();
                carolSaw = new Recorder();
                carol = SignalExchangeTest.signal(server, "carol", "1", dir.resolve("carol-again.db"), carolSaw);
                carol.sendText("alice", "Signal, carol after reinstalling: anise-4669");
                return carol.safetyNumber("alice").get(30, SECONDS);
            }
            case "dave-reinstalls-silently" -> {
                dave.close();
                daveAgainSaw = new Recorder();
                dave = SignalExchangeTest.signal(server, "dave", "1", dir.resolve("dave-again.db"), daveAgainSaw);
                return "reinstalled";
            }
            case "dave-receives-after-reinstall" -> {
                awaitDecrypted(daveAgainSaw, "Signal, to dave after his reinstall: sorrel-3141", Encryption.SIGNAL);
                return "received";
            }
            default -> throw new IllegalArgumentException("unknown command " + command);
        }
    }

    private static void awaitDecrypted(Recorder saw, String text, Encryption mode) {
        await().atMost(30, SECONDS).untilAsserted(() -> assertThat(saw.arrived)
            .as("what arrived: %s", saw.arrived)
            .anyMatch(m -> !m.isUndecryptable() && text.equals(m.text()) && m.encryption() == mode));
    }

    /** Maven runs a module's tests in the module's folder; the repository is its parent. */
    private static Path repositoryRoot() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("browser-test/package.json"))) {
                return d;
            }
        }
        return fail("No browser-test/package.json above " + Path.of("").toAbsolutePath());
    }
}
