package io.courier.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.MINUTES;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The browser client the admin endpoint serves at {@code /app/}, in headless Chromium (Debian's
 * {@code /usr/bin/chromium}, driven by {@code browser-test/browser-client.mjs} with npm's
 * playwright-core): two pages chat over WebSocket until the ticks turn blue; a page whose browser
 * refuses WebSocket falls back to long polling and chats; a message typed while the server is
 * stopped survives a reload of the page and arrives, once, after the server has started again on
 * the same data directory and ports; files alice sends through the media service show on bob's
 * page, an image inline and a PDF as a link; two pages with the same shared key chat end to end
 * encrypted (no plaintext in any WebSocket frame), a page with another key shows the message as
 * undecryptable, and a page and a Java client exchange shared-key messages that each decrypts;
 * the page shows the peer "online", then "last seen today at …" once the peer's page is closed.
 * Screenshots go to {@code target/browser-client/}.
 */
class BrowserClientTest {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final long RUN_MINUTES = 3;
    private static final long NPM_CI_MINUTES = 5;

    @TempDir
    Path dir;

    @Test
    void shouldChatUntilBlueTicksOverWebSocketAndLongPollingAndDeliverWhatWasTypedWhileTheServerWasDownAndShowPresence() throws Exception {
        Path driver = repositoryRoot().resolve("browser-test");
        if (!Files.isExecutable(CHROMIUM)) {
            fail("This test runs the browser client in Debian's Chromium, and " + CHROMIUM + " is missing. Install it"
                + " (apt-get install -y chromium; ./test.sh does so) and run it again.");
        }
        if (!Files.isDirectory(driver.resolve("node_modules").resolve("playwright-core"))) {
            run(List.of("npm", "ci", "--no-audit", "--no-fund"), driver,
                "npm ci in " + driver + " (installs playwright-core pinned in its package-lock.json)");
        }
        // Fixed ports, so that the server comes back where the pages knew it; TCP and UDP are not
        // for browsers.
        List<String> overrides = List.of(
            "data-dir=" + dir.resolve("data"),
            "transports.tcp.enabled=false",
            "transports.udp.enabled=false",
            "transports.ws.port=" + freePort(),
            "transports.longpoll.port=" + freePort(),
            "admin.port=" + freePort(),
            "media.port=" + freePort());
        ServerConfig config = ConfigLoader.load(null, overrides);
        CourierServer server = CourierServer.start(config);
        Process process = null;
        SharedKeyPeer dave = null;
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor();
        try {
            String page = "http://127.0.0.1:" + server.adminPort() + "/app/";
            assertServesThePageWithTheTransportsAddresses(server, page);
            String tokens = "{" + String.join(",", token(config, "alice"), token(config, "bob"), token(config, "carol")) + "}";
            Path screenshots = Path.of("target", "browser-client").toAbsolutePath();
            ProcessBuilder builder = new ProcessBuilder("node", driver.resolve("browser-client.mjs").toString(),
                "--url", page, "--screenshots", screenshots.toString()).directory(driver.toFile()).redirectErrorStream(true);
            builder.environment().put("COURIER_TOKENS", tokens);
            process = start(builder, "the browser test driver");
            Process running = process;
            watchdog.schedule(() -> {
                running.descendants().forEach(ProcessHandle::destroyForcibly);
                running.destroyForcibly();
            }, RUN_MINUTES, MINUTES);
            List<String> output = new ArrayList<>();
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), UTF_8));
                 Writer answers = new OutputStreamWriter(process.getOutputStream(), UTF_8)) {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    System.out.println(line);
                    output.add(line);
                    if (line.equals("control: stop-server")) {
                        server.close();
                        answer(answers, "stopped");
                    } else if (line.equals("control: start-server")) {
                        server = CourierServer.start(config);
                        answer(answers, "started");
                    } else if (line.equals("control: send-media")) {
                        sendMedia(server, config);
                        answer(answers, "sent");
                    } else if (line.equals("control: java-shared-key")) {
                        dave = new SharedKeyPeer(server, config, "dave", "laptop");
                        answer(answers, java.util.HexFormat.of().formatHex(dave.key));
                    } else if (line.equals("control: java-send")) {
                        dave.send("alice", "Hello Alice, from Java: pomegranate-0412");
                        answer(answers, "sent");
                    } else if (line.equals("control: java-receive")) {
                        dave.awaitText("alice", "Hello Dave, from the browser: quince-9083");
                        answer(answers, "received");
                    }
                }
            }
            boolean finished = process.waitFor(30, SECONDS);
            String tail = String.join("\n", output.subList(Math.max(0, output.size() - 40), output.size()));
            assertThat(finished).as("the driver finished within %d minutes; its last output:%n%s", RUN_MINUTES, tail).isTrue();
            assertThat(process.exitValue()).as("exit status of the browser test driver; its last output:%n%s", tail).isZero();
            assertThat(output).as("its summary line").contains(
                "browser: all 6 scenarios passed: websocket chat, long-polling fallback, message typed while the server "
                    + "was down, files from the media service, shared-key encryption, presence");
            assertThat(screenshots.resolve("media-bob.png")).isNotEmptyFile();
            assertThat(screenshots.resolve("outage-delivered-alice.png")).isNotEmptyFile();
        } finally {
            watchdog.shutdownNow();
            if (dave != null) {
                dave.client.disconnect();
            }
            if (process != null) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
            server.close();
        }
    }

    /**
     * The page's e2e.js in headless Chromium ({@code browser-test/e2e-kat.mjs}): every RFC vector
     * of the primitives it wraps (HKDF, HMAC, X25519, Ed25519, AES-GCM), every vector of the Java
     * crypto core's vectors.json (made again byte for byte), and each behaviour and error reason of
     * docs/E2E.md. The driver exits non-zero when any check fails.
     */
    @Test
    void shouldPassEveryKnownAnswerAndBehaviourCheckOfTheEndToEndEncryptionModuleInChromium() throws Exception {
        Path driver = repositoryRoot().resolve("browser-test");
        requireBrowser(driver);
        ServerConfig config = ConfigLoader.load(null, List.of(
            "data-dir=" + dir.resolve("data"), "transports.tcp.enabled=false", "transports.udp.enabled=false",
            "transports.ws.port=" + freePort(), "transports.longpoll.port=" + freePort(), "admin.port=" + freePort(),
            "media.enabled=false"));
        Path vectors = repositoryRoot().resolve("client/src/test/resources/io/courier/client/crypto/vectors.json");
        try (CourierServer server = CourierServer.start(config)) {
            List<String> output = runToEnd(new ProcessBuilder("node", driver.resolve("e2e-kat.mjs").toString(),
                "--url", "http://127.0.0.1:" + server.adminPort() + "/app/", "--rfc", driver.resolve("rfc-vectors.json").toString(),
                "--courier", vectors.toString()).directory(driver.toFile()), "the e2e.js checks");
            assertThat(output).as("the checks' summary").anyMatch(line -> line.matches("e2e: all \\d+ checks passed"));
            assertThat(vectors).as("the Java core's vectors, which the browser must match").isRegularFile();
            assertThat(output).contains("e2e: Courier vectors checked");
            assertThat(output).as("the Courier golden vectors were checked").anyMatch(line -> line.startsWith("e2e: ok   vectors.json courier.x3dh"));
        }
    }

    /** Runs a driver to its end within RUN_MINUTES, echoing its output; fails unless it exits 0. */
    private static List<String> runToEnd(ProcessBuilder builder, String what) throws Exception {
        Process process = start(builder.redirectErrorStream(true), what);
        process.getOutputStream().close();
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor();
        try {
            watchdog.schedule(() -> {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }, RUN_MINUTES, MINUTES);
            List<String> output = new ArrayList<>();
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), UTF_8))) {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    System.out.println(line);
                    output.add(line);
                }
            }
            assertThat(process.waitFor(30, SECONDS)).as("%s finished within %d minutes", what, RUN_MINUTES).isTrue();
            String tail = String.join("\n", output.subList(Math.max(0, output.size() - 40), output.size()));
            assertThat(process.exitValue()).as("exit status of %s; its last output:%n%s", what, tail).isZero();
            return output;
        } finally {
            watchdog.shutdownNow();
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
    }

    private static void requireBrowser(Path driver) throws Exception {
        if (!Files.isExecutable(CHROMIUM)) {
            fail("This test runs the browser client in Debian's Chromium, and " + CHROMIUM + " is missing. Install it"
                + " (apt-get install -y chromium; ./test.sh does so) and run it again.");
        }
        if (!Files.isDirectory(driver.resolve("node_modules").resolve("playwright-core"))) {
            run(List.of("npm", "ci", "--no-audit", "--no-fund"), driver,
                "npm ci in " + driver + " (installs playwright-core pinned in its package-lock.json)");
        }
    }

    /** The page, its modules, and config.json naming where the two browser transports listen. */
    private static void assertServesThePageWithTheTransportsAddresses(CourierServer server, String page) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        HttpResponse<String> index = http.send(HttpRequest.newBuilder(URI.create(page)).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(index.statusCode()).isEqualTo(200);
        assertThat(index.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
        assertThat(index.body()).contains("<script type=\"module\" src=\"app.js\">");
        HttpResponse<String> config = http.send(HttpRequest.newBuilder(URI.create(page + "config.json"))
            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(config.body()).isEqualTo("{\"websocket\":\"" + server.address("ws") + "\",\"longPolling\":\""
            + server.address("longpoll") + "\"}");
        HttpResponse<String> missing = http.send(HttpRequest.newBuilder(URI.create(page + "../etc/passwd"))
            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(missing.statusCode()).isEqualTo(404);
    }

    /**
     * Alice, on a device of her own (her page stays connected), sends bob a PNG and a PDF the way
     * the SDK does: a slot from the server, a PUT to its presigned URL, then the references.
     */
    private static void sendMedia(CourierServer server, ServerConfig config) throws Exception {
        TestClient alice = new TestClient(io.courier.transport.TransportProviders.find("ws")
            .createClient(io.courier.transport.TransportSettings.of(0)), server.address("ws"), "alice", "laptop",
            Main.mint(config, "alice", "*", Duration.ofHours(1))).connect();
        try {
            java.awt.image.BufferedImage image = new java.awt.image.BufferedImage(64, 48,
                java.awt.image.BufferedImage.TYPE_INT_RGB);
            for (int x = 0; x < 64; x++) {
                for (int y = 0; y < 48; y++) {
                    image.setRGB(x, y, (x * 4) << 16 | (y * 5) << 8 | 0x80);
                }
            }
            java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
            javax.imageio.ImageIO.write(image, "png", png);
            byte[] pdf = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
                .getBytes(UTF_8);
            upload(alice, 9001, "image/png", png.toByteArray());
            upload(alice, 9002, "application/pdf", pdf);
        } finally {
            alice.disconnect();
        }
    }

    private static void upload(TestClient alice, long requestId, String type, byte[] bytes) throws Exception {
        byte[] sha = java.security.MessageDigest.getInstance("SHA-256").digest(bytes);
        alice.raw(io.courier.transport.proto.Frame.newBuilder().setRequestId(requestId).setMediaSlotRequest(
            io.courier.transport.proto.MediaSlotRequest.newBuilder().setContentType(type).setSizeBytes(bytes.length)
                .setSha256(com.google.protobuf.ByteString.copyFrom(sha))).build());
        io.courier.transport.proto.Frame answer = alice.others.poll(TestClient.TIMEOUT_SECONDS, SECONDS);
        assertThat(answer).as("the answer to a media slot request").isNotNull();
        assertThat(answer.getRequestId()).isEqualTo(requestId);
        io.courier.transport.proto.MediaSlot slot = answer.getMediaSlot();
        HttpRequest.Builder put = HttpRequest.newBuilder(URI.create(slot.getUploadUrl()))
            .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)).timeout(Duration.ofSeconds(30));
        slot.getUploadHeadersMap().forEach((name, value) -> {
            if (!name.equalsIgnoreCase("content-length") && !name.equalsIgnoreCase("host")) {
                put.header(name, value);
            }
        });
        HttpResponse<String> stored = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
            .send(put.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(stored.statusCode()).as("the PUT's answer: %s", stored.body()).isBetween(200, 299);
        String clientId = "media-" + requestId;
        alice.raw(io.courier.transport.proto.Frame.newBuilder().setSend(io.courier.transport.proto.Send.newBuilder()
            .setClientMessageId(clientId).setRecipient("bob").setContentType(type)
            .setMedia(io.courier.transport.proto.MediaRef.newBuilder().setUrl(slot.getDownloadUrl()).setContentType(type)
                .setSizeBytes(bytes.length).setSha256(com.google.protobuf.ByteString.copyFrom(sha)))).build());
        org.awaitility.Awaitility.await().atMost(30, SECONDS).until(() -> alice.serverIdOf(clientId) != 0);
    }

    /**
     * A Java client in shared-key mode, docs/E2E.md sections 3, 4.1 and 7 written out here with the
     * JDK's SHA-256 and AES-GCM alone, independently of the page's e2e.js: what it sends the page
     * decrypts, and it decrypts what the page sends, or the test fails.
     */
    private static final class SharedKeyPeer {
        final byte[] key = new byte[32];
        final TestClient client;
        private final java.security.SecureRandom random = new java.security.SecureRandom();
        private int sent;

        SharedKeyPeer(CourierServer server, ServerConfig config, String user, String device) throws Exception {
            random.nextBytes(key);
            client = new TestClient(io.courier.transport.TransportProviders.find("ws")
                .createClient(io.courier.transport.TransportSettings.of(0)), server.address("ws"), user, device,
                Main.mint(config, user, "*", Duration.ofHours(1))).connect();
        }

        void send(String to, String text) throws Exception {
            String clientId = client.user + "-e2e-" + ++sent;
            byte[] nonce = new byte[12];
            random.nextBytes(nonce);
            java.io.ByteArrayOutputStream head = new java.io.ByteArrayOutputStream();
            head.write(new byte[] {1, 1});
            head.write(keyId());
            head.write(nonce);
            byte[] ad = concat(head.toByteArray(), conv(client.user, client.device, to, clientId));
            javax.crypto.Cipher gcm = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
            gcm.init(javax.crypto.Cipher.ENCRYPT_MODE, new javax.crypto.spec.SecretKeySpec(key, "AES"),
                new javax.crypto.spec.GCMParameterSpec(128, nonce));
            gcm.updateAAD(ad);
            byte[] envelope = concat(head.toByteArray(), gcm.doFinal(plaintext(text)));
            client.raw(io.courier.transport.proto.Frame.newBuilder().setSend(io.courier.transport.proto.Send.newBuilder()
                .setClientMessageId(clientId).setRecipient(to).setContentType("application/vnd.courier.e2e")
                .setPayload(com.google.protobuf.ByteString.copyFrom(envelope))).build());
            org.awaitility.Awaitility.await().atMost(30, SECONDS).until(() -> client.serverIdOf(clientId) != 0);
        }

        /** Waits for a message from `from`, decrypts it and checks its text. */
        void awaitText(String from, String expected) throws Exception {
            org.awaitility.Awaitility.await().atMost(30, SECONDS).until(() -> client.deliveredSnapshot().stream()
                .anyMatch(d -> d.getSender().equals(from)));
            io.courier.transport.proto.Deliver d = client.deliveredSnapshot().stream()
                .filter(m -> m.getSender().equals(from)).reduce((a, b) -> b).orElseThrow();
            assertThat(d.getContentType()).isEqualTo("application/vnd.courier.e2e");
            byte[] envelope = d.getPayload().toByteArray();
            assertThat(new String(envelope, java.nio.charset.StandardCharsets.ISO_8859_1)).doesNotContain(expected);
            assertThat(java.util.Arrays.copyOfRange(envelope, 0, 2)).containsExactly(1, 1);
            assertThat(java.util.Arrays.copyOfRange(envelope, 2, 10)).as("the key id").isEqualTo(keyId());
            byte[] nonce = java.util.Arrays.copyOfRange(envelope, 10, 22);
            byte[] ad = concat(java.util.Arrays.copyOfRange(envelope, 0, 22),
                conv(d.getSender(), d.getSenderDevice(), d.getRecipient(), d.getClientMessageId()));
            javax.crypto.Cipher gcm = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
            gcm.init(javax.crypto.Cipher.DECRYPT_MODE, new javax.crypto.spec.SecretKeySpec(key, "AES"),
                new javax.crypto.spec.GCMParameterSpec(128, nonce));
            gcm.updateAAD(ad);
            java.nio.ByteBuffer plain = java.nio.ByteBuffer.wrap(gcm.doFinal(envelope, 22, envelope.length - 22));
            assertThat(plain.remaining() % 160).as("the plaintext is padded to a multiple of 160 bytes").isZero();
            assertThat(plain.get()).isEqualTo((byte) 1);
            byte[] type = new byte[plain.getShort() & 0xffff];
            plain.get(type);
            assertThat(new String(type, UTF_8)).isEqualTo("text/plain");
            byte[] body = new byte[plain.getInt()];
            plain.get(body);
            assertThat(plain.get()).as("the media flag").isZero();
            assertThat(new String(body, UTF_8)).isEqualTo(expected);
        }

        private byte[] keyId() throws Exception {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
                .digest(concat("Courier-SK-id-v1".getBytes(java.nio.charset.StandardCharsets.US_ASCII), key));
            return java.util.Arrays.copyOf(digest, 8);
        }

        private static byte[] plaintext(String text) {
            byte[] type = "text/plain".getBytes(UTF_8);
            byte[] body = text.getBytes(UTF_8);
            int length = 1 + 2 + type.length + 4 + body.length + 1;
            java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate((length + 159) / 160 * 160);
            out.put((byte) 1).putShort((short) type.length).put(type).putInt(body.length).put(body).put((byte) 0);
            return out.array();
        }

        private static byte[] conv(String sender, String senderDevice, String recipient, String clientMessageId) {
            return concat(str(sender), str(senderDevice), str(recipient), str(clientMessageId));
        }

        private static byte[] str(String s) {
            byte[] bytes = s.getBytes(UTF_8);
            return concat(new byte[] {(byte) (bytes.length >>> 8), (byte) bytes.length}, bytes);
        }

        private static byte[] concat(byte[]... parts) {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            for (byte[] p : parts) {
                out.writeBytes(p);
            }
            return out.toByteArray();
        }
    }

    private static String token(ServerConfig config, String user) {
        return "\"" + user + "\":\"" + Main.mint(config, user, "*", Duration.ofHours(1)) + "\"";
    }

    private static void answer(Writer answers, String line) throws IOException {
        answers.write(line + "\n");
        answers.flush();
    }

    private static Process start(ProcessBuilder builder, String what) {
        try {
            return builder.start();
        } catch (IOException e) {
            return fail("Cannot start " + what + " (" + String.join(" ", builder.command()) + "): " + e.getMessage()
                + ". Install Node.js 20 or later with npm.");
        }
    }

    /** Runs a command to its end, copying its output into the test log; fails unless it exits 0 in time. */
    private static void run(List<String> command, Path directory, String what) throws Exception {
        Process process = start(new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.INHERIT), what);
        process.getOutputStream().close();
        if (!process.waitFor(NPM_CI_MINUTES, MINUTES)) {
            process.destroyForcibly();
            fail(what + " did not finish within " + NPM_CI_MINUTES + " minutes");
        }
        assertThat(process.exitValue()).as("exit status of %s", what).isZero();
    }

    /** Maven runs a module's tests in the module's folder; the repository is its parent. */
    private static Path repositoryRoot() {
        Path module = Path.of("").toAbsolutePath();
        for (Path d = module; d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("browser-test/package.json"))) {
                return d;
            }
        }
        return fail("No browser-test/package.json in " + module + " or any folder above it; run the tests from the repository");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
