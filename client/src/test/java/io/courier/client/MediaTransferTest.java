package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.transport.proto.Frame;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files from one SDK to another through the server's media service on its filesystem store: the
 * bytes go over HTTP, the chat connection carries only the reference (counted by a proxy on it).
 */
class MediaTransferTest {

    static final int FIVE_MIB = 5 * 1024 * 1024;

    @TempDir
    Path dir;

    @Test
    void shouldCarryAFiveMebibyteImageOverHttpWhileTheChatConnectionsCarryOnlyItsReference() throws Exception {
        Path image = image(dir.resolve("photo.png"), FIVE_MIB);
        try (TestServer server = new TestServer(dir, MediaServers.filesystem()).start()) {
            MediaCase.run(server, image, dir, "filesystem");
        }
    }

    @Test
    void shouldResumeADownloadCutInTheMiddleWithARangeRequestToTheMediaService() throws Exception {
        Path image = image(dir.resolve("photo.png"), FIVE_MIB);
        int mediaPort = TestServer.freePort();
        // The URLs handed out name a proxy in front of the media service, which the test cuts.
        try (ChaosProxy http = new ChaosProxy(mediaPort, false);
             TestServer server = new TestServer(dir, "media.port=" + mediaPort,
                 "media.public-url=http://127.0.0.1:" + http.port()).start()) {
            Recorder bobSaw = new Recorder();
            try (CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), new Recorder());
                 CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), bobSaw)) {
                alice.sendMedia("bob", image, "image/png");
                await().atMost(120, SECONDS).until(() -> !bobSaw.arrived.isEmpty());
                Message arrived = bobSaw.arrived.get(0);
                long beforeDownload = http.bytesFromServer.get();
                http.cutWhenServerSent(beforeDownload + FIVE_MIB / 3);

                java.util.concurrent.CompletableFuture<Path> first = bob.download(arrived);
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> first.get(120, SECONDS))
                    .cause().isInstanceOf(CourierMediaException.class).hasMessageContaining("call download again");
                long firstBytes = http.bytesFromServer.get() - beforeDownload;
                assertThat(bob.history("alice").get(0).media().file()).isNull();

                Path got = bob.download(bob.history("alice").get(0)).get(120, SECONDS);
                long secondBytes = http.bytesFromServer.get() - beforeDownload - firstBytes;
                System.out.printf("media resume: the cut download carried %,d bytes, the resumed one %,d, of a "
                    + "%,d-byte file%n", firstBytes, secondBytes, FIVE_MIB);
                assertThat(sha256(got)).isEqualTo(sha256(image));
                assertThat(secondBytes).isLessThan(FIVE_MIB - FIVE_MIB / 4);
                assertThat(got.resolveSibling(got.getFileName() + ".part")).doesNotExist();
            }
        }
    }

    @Test
    void shouldUploadAgainWithANewSlotWhenAnUploadIsCutInTheMiddle() throws Exception {
        Path image = image(dir.resolve("photo.png"), FIVE_MIB);
        int mediaPort = TestServer.freePort();
        try (ChaosProxy http = new ChaosProxy(mediaPort, false);
             TestServer server = new TestServer(dir, "media.port=" + mediaPort,
                 "media.public-url=http://127.0.0.1:" + http.port()).start();
             ChaosProxy chat = new ChaosProxy(server.tcpPort)) {
            http.cutWhenClientSent(FIVE_MIB / 2);
            Recorder bobSaw = new Recorder();
            List<Long> progress = new CopyOnWriteArrayList<>();
            try (CourierClient alice = Clients.builder(chat.address(), "alice", server.tokens("alice"),
                     dir.resolve("alice.db"), new Recorder()).build();
                 CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), bobSaw)) {
                String id = alice.sendMedia("bob", image, "image/png", (done, total) -> progress.add(done));
                await().atMost(120, SECONDS).until(() -> !bobSaw.arrived.isEmpty());
                Path got = bob.download(bobSaw.arrived.get(0)).get(120, SECONDS);

                assertThat(sha256(got)).isEqualTo(sha256(image));
                assertThat(alice.message(id).orElseThrow().state()).isNotEqualTo(MessageState.FAILED);
                long slots = chat.fromClient.stream().filter(Frame::hasMediaSlotRequest).count();
                System.out.printf("media upload cut: the first PUT was cut after %,d bytes (headers included); %d "
                    + "slots asked for; the file arrived whole%n", FIVE_MIB / 2, slots);
                assertThat(slots).isEqualTo(2);
                assertThat(chat.fromClient.stream().filter(Frame::hasSend).count()).isEqualTo(1);
                // Each attempt starts over from byte 0.
                assertThat(progress.stream().filter(done -> done == 0L).count()).isGreaterThanOrEqualTo(2);
            }
        }
    }

    @Test
    void shouldUploadAFileSentWhileTheServerWasDownAfterTheSenderRestarts() throws Exception {
        Path file = image(dir.resolve("report.pdf"), 300_000);
        try (TestServer server = new TestServer(dir, MediaServers.filesystem())) {
            String id;
            try (CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), new Recorder())) {
                id = alice.sendMedia("bob", file, "application/pdf");
                Message stored = alice.message(id).orElseThrow();
                assertThat(stored.state()).isEqualTo(MessageState.PENDING);
                assertThat(stored.media().url()).isEmpty();
                assertThat(stored.media().file()).exists().hasSameBinaryContentAs(file);
            }
            server.start();
            Recorder bobSaw = new Recorder();
            try (CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), new Recorder());
                 CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), bobSaw)) {
                await().atMost(60, SECONDS).until(() -> alice.message(id).orElseThrow().state() == MessageState.DELIVERED);
                Message arrived = bobSaw.arrived.get(0);
                Path got = bob.download(arrived).get(60, SECONDS);
                assertThat(got).hasSameBinaryContentAs(file);
                assertThat(got.getFileName().toString()).endsWith(".pdf");
                assertThat(bob.history("alice").get(0).media().file()).isEqualTo(got);
            }
        }
    }

    @Test
    void shouldFailAFileTheServerCannotTakeWithTheServersReason() throws Exception {
        Path file = image(dir.resolve("photo.png"), 4096);
        try (TestServer server = new TestServer(dir, "media.enabled=false").start()) {
            Recorder aliceSaw = new Recorder();
            try (CourierClient alice = Clients.open(server, "alice", dir.resolve("alice.db"), aliceSaw)) {
                String id = alice.sendMedia("bob", file, "image/png");
                await().atMost(60, SECONDS).until(() -> alice.message(id).orElseThrow().state() == MessageState.FAILED);
                assertThat(alice.message(id).orElseThrow().failureCode()).isEqualTo("UNSUPPORTED");
                assertThat(alice.status().queued()).isZero();
            }
        }
    }

    /** What both stores' tests do: Alice sends, Bob downloads, hashes compared, chat bytes counted. */
    static final class MediaCase {

        private MediaCase() {
        }

        /** Returns the message as Bob's client received it. */
        static Message run(TestServer server, Path image, Path dir, String store) throws Exception {
            try (ChaosProxy aliceLink = new ChaosProxy(server.tcpPort);
                 ChaosProxy bobLink = new ChaosProxy(server.tcpPort)) {
                Recorder bobSaw = new Recorder();
                List<Long> progress = new CopyOnWriteArrayList<>();
                try (CourierClient alice = Clients.builder(aliceLink.address(), "alice", server.tokens("alice"),
                         dir.resolve("alice.db"), new Recorder()).build();
                     CourierClient bob = Clients.builder(bobLink.address(), "bob", server.tokens("bob"),
                         dir.resolve("bob.db"), bobSaw).build()) {
                    String id = alice.sendMedia("bob", image, "image/png", (done, total) -> progress.add(done));
                    await().atMost(120, SECONDS).until(() -> !bobSaw.arrived.isEmpty());
                    Message arrived = bobSaw.arrived.get(0);
                    assertThat(arrived.clientId()).isEqualTo(id);
                    assertThat(arrived.media().contentType()).isEqualTo("image/png");
                    assertThat(arrived.media().sizeBytes()).isEqualTo(Files.size(image));
                    assertThat(arrived.media().sha256Hex()).isEqualTo(sha256(image));
                    assertThat(arrived.media().file()).isNull();

                    Path got = bob.download(arrived).get(120, SECONDS);
                    assertThat(sha256(got)).isEqualTo(sha256(image));
                    assertThat(got).startsWith(bob.mediaFolder());
                    assertThat(progress).isNotEmpty().isSorted().last().isEqualTo(Files.size(image));
                    await().atMost(60, SECONDS).until(() ->
                        alice.message(id).orElseThrow().state().compareTo(MessageState.DELIVERED) >= 0);

                    long aliceBytes = aliceLink.bytesFromClient.get() + aliceLink.bytesFromServer.get();
                    long bobBytes = bobLink.bytesFromClient.get() + bobLink.bytesFromServer.get();
                    Frame send = aliceLink.fromClient.stream().filter(Frame::hasSend).findFirst().orElseThrow();
                    System.out.printf("media (%s store): a %,d-byte image, SHA-256 %s on both sides; the chat "
                            + "connections carried %,d bytes (Alice's: %,d, of which her send frame %,d) and %,d "
                            + "bytes (Bob's)%n", store, Files.size(image), sha256(got), aliceBytes + bobBytes,
                        aliceBytes, send.getSerializedSize(), bobBytes);
                    assertThat(send.getSend().getPayload().isEmpty()).isTrue();
                    assertThat(send.getSend().getMedia().getUrl()).isEqualTo(arrived.media().url());
                    // The reference, hellos, ticks and heartbeats: a few KiB, nowhere near the file.
                    assertThat(aliceBytes).isLessThan(64 * 1024);
                    assertThat(bobBytes).isLessThan(64 * 1024);
                    return arrived;
                }
            }
        }
    }

    /** A file of {@code size} bytes that starts like a PNG, the rest random. */
    static Path image(Path file, int size) throws IOException {
        byte[] bytes = new byte[size];
        new Random(size).nextBytes(bytes);
        byte[] signature = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        System.arraycopy(signature, 0, bytes, 0, signature.length);
        return Files.write(file, bytes);
    }

    static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[65536];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
