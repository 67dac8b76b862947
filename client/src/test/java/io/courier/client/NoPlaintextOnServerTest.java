package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.courier.transport.proto.MediaRef;
import io.courier.transport.proto.MediaSlot;
import io.courier.transport.proto.Send;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The server sees no plaintext: distinctive texts and files sent in both modes (a shared key
 * between Alice and Bob, Signal between Alice and Carol, each way) are searched for in every file
 * of the server's data directory (RocksDB's files and write-ahead log, the filesystem blob store),
 * in every RocksDB entry or PostgreSQL row, and in every byte that crossed the chat connections and
 * the media service, and found nowhere; while a positive control, a text and a file sent
 * unencrypted in the same run by a client built on the wire classes, is found in the same places.
 */
class NoPlaintextOnServerTest {

    /** The size of each file sent: its distinctive text over and over, so no block can miss it. */
    static final int FILE_BYTES = 64 * 1024;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(StoredBytes.Backend.class)
    void shouldStoreAndCarryOnlyCiphertextInBothModesForTextAndFiles(StoredBytes.Backend backend) throws Exception {
        StoredBytes stored = new StoredBytes(backend);
        String run = UUID.randomUUID().toString();
        Map<String, String> secret = new LinkedHashMap<>();
        secret.put("shared-key text a->b", "SK-TEXT-ALICE-" + run);
        secret.put("shared-key text b->a", "SK-TEXT-BOB-" + run);
        secret.put("shared-key file", "SK-FILE-" + run);
        secret.put("signal text a->c", "SIGNAL-TEXT-ALICE-" + run);
        secret.put("signal text c->a", "SIGNAL-TEXT-CAROL-" + run);
        secret.put("signal file", "SIGNAL-FILE-" + run);
        secret.put("signal file name", "secret-name-" + run + ".txt");
        String controlText = "CONTROL-TEXT-" + run;
        String controlFile = "CONTROL-FILE-" + run;

        int mediaPort = TestServer.freePort();
        try (ChaosProxy media = new ChaosProxy(mediaPort, false);
             TestServer server = new TestServer(dir, stored.overrides("media.port=" + mediaPort,
                 "media.public-url=http://127.0.0.1:" + media.port())).start();
             ChaosProxy aliceWire = new ChaosProxy(server.tcpPort);
             ChaosProxy bobWire = new ChaosProxy(server.tcpPort);
             ChaosProxy carolWire = new ChaosProxy(server.tcpPort);
             ChaosProxy controlWire = new ChaosProxy(server.tcpPort)) {
            byte[] key = new byte[32];
            new SecureRandom().nextBytes(key);
            Recorder aliceSaw = new Recorder();
            Recorder bobSaw = new Recorder();
            Recorder carolSaw = new Recorder();
            try (CourierClient alice = signal(server, aliceWire, "alice", aliceSaw);
                 CourierClient bob = signal(server, bobWire, "bob", bobSaw);
                 CourierClient carol = signal(server, carolWire, "carol", carolSaw)) {
                alice.setSharedKey("bob", key);
                bob.setSharedKey("alice", key);
                alice.keysPublished().get(30, SECONDS);
                bob.keysPublished().get(30, SECONDS);
                carol.keysPublished().get(30, SECONDS);

                Path skFile = file("notes.txt", secret.get("shared-key file"));
                Path signalFile = file(secret.get("signal file name"), secret.get("signal file"));
                alice.sendText("bob", secret.get("shared-key text a->b"));
                alice.sendMedia("bob", skFile, "text/plain");
                bob.sendText("alice", secret.get("shared-key text b->a"));
                alice.sendText("carol", secret.get("signal text a->c"));
                alice.sendMedia("carol", signalFile, "text/plain");
                carol.sendText("alice", secret.get("signal text c->a"));

                await().atMost(60, SECONDS).until(() -> bobSaw.arrived.size() >= 2 && carolSaw.arrived.size() >= 2
                    && aliceSaw.arrived.size() >= 2);
                assertDecrypted(bob.history("alice"), Encryption.SHARED_KEY, secret.get("shared-key text a->b"));
                assertDecrypted(alice.history("bob"), Encryption.SHARED_KEY, secret.get("shared-key text b->a"));
                assertDecrypted(carol.history("alice"), Encryption.SIGNAL, secret.get("signal text a->c"));
                assertDecrypted(alice.history("carol"), Encryption.SIGNAL, secret.get("signal text c->a"));
                // The files decrypt on the other side, so what the blob store holds really is them.
                Message bobsFile = incomingMedia(bob.history("alice"));
                assertThat(Files.readString(bob.download(bobsFile).get(60, SECONDS))).isEqualTo(Files.readString(skFile));
                Message carolsFile = incomingMedia(carol.history("alice"));
                assertThat(Files.readString(carol.download(carolsFile).get(60, SECONDS)))
                    .isEqualTo(Files.readString(signalFile));
            }

            // The positive control: the same text and file sent plain, through a proxy of its own.
            try (RawClient dave = RawClient.connect(controlWire.port(), "dave", "1", server.token("dave"))) {
                dave.sendAndAwaitAccepted(Send.newBuilder().setClientMessageId("control-text").setRecipient("erin")
                    .setContentType("text/plain").setPayload(ByteString.copyFromUtf8(controlText)).build());
                byte[] bytes = repeat(controlFile);
                MediaSlot slot = dave.upload(bytes, "text/plain");
                dave.sendAndAwaitAccepted(Send.newBuilder().setClientMessageId("control-file").setRecipient("erin")
                    .setContentType("text/plain").setMedia(MediaRef.newBuilder().setUrl(slot.getDownloadUrl())
                        .setContentType("text/plain").setSizeBytes(bytes.length)
                        .setSha256(ByteString.copyFrom(MessageDigest.getInstance("SHA-256").digest(bytes))))
                    .build());
            }
            server.stop();

            Map<String, String> needles = new LinkedHashMap<>(secret);
            needles.put("control text", controlText);
            needles.put("control file", controlFile);
            List<PlaintextSearch.Report> reports = stored.search(new PlaintextSearch(needles), server,
                aliceWire.capture, bobWire.capture, carolWire.capture, media.capture);
            for (PlaintextSearch.Report r : reports) {
                for (String name : secret.keySet()) {
                    assertThat(r.hitsOf(name)).as(name + " in " + r.what()).isEmpty();
                }
            }
            PlaintextSearch.Report files = reports.get(0);
            PlaintextSearch.Report entries = reports.get(1);
            assertThat(files.hitsOf("control file")).as("the control file in the blob store").isNotEmpty();
            assertThat(entries.hitsOf("control text")).as("the control text in " + entries.what()).isNotEmpty();
            if (backend == StoredBytes.Backend.ROCKSDB) {
                assertThat(files.hitsOf("control text")).as("the control text in RocksDB's files").isNotEmpty();
            }
            PlaintextSearch wire = new PlaintextSearch(Map.of("control text", controlText, "control file", controlFile));
            assertThat(wire.wire(controlWire.capture).hitsOf("control text")).isNotEmpty();
            assertThat(wire.wire(media.capture).hitsOf("control file")).as("the control upload on the wire").isNotEmpty();
            // Something was searched: the encrypted traffic is on the captures and in the store.
            assertThat(aliceWire.capture.size()).isPositive();
            assertThat(media.capture.size()).isGreaterThan(4L * FILE_BYTES);
        }
    }

    private CourierClient signal(TestServer server, ChaosProxy wire, String user, Recorder seen) {
        return Clients.builder(wire.address(), user, server.tokens(user), dir.resolve(user + ".db"), seen)
            .mediaFolder(dir.resolve(user + "-media")).encryption(Encryption.SIGNAL).build();
    }

    private Path file(String name, String text) throws Exception {
        Path f = dir.resolve(name);
        Files.write(f, repeat(text));
        return f;
    }

    private static byte[] repeat(String text) {
        byte[] one = (text + "\n").getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[FILE_BYTES];
        for (int i = 0; i < all.length; i++) {
            all[i] = one[i % one.length];
        }
        return all;
    }

    private static void assertDecrypted(List<Message> history, Encryption mode, String text) {
        Optional<Message> m = history.stream().filter(x -> x.direction() == Direction.INCOMING && !x.hasMedia()).findFirst();
        assertThat(m).isPresent();
        assertThat(m.get().isUndecryptable()).as(m.get().toString()).isFalse();
        assertThat(m.get().encryption()).isEqualTo(mode);
        assertThat(m.get().text()).isEqualTo(text);
    }

    private static Message incomingMedia(List<Message> history) {
        return history.stream().filter(x -> x.direction() == Direction.INCOMING && x.hasMedia()).findFirst().orElseThrow();
    }
}
