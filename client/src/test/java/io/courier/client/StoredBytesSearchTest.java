package io.courier.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.courier.transport.proto.MediaRef;
import io.courier.transport.proto.MediaSlot;
import io.courier.transport.proto.Send;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The searches the end-to-end tests rely on can fail: a plaintext message and a plaintext blob
 * sent without encryption are found in the server's stored bytes (files, RocksDB entries or
 * PostgreSQL rows, the blob store) and on the wire, and a text that was never sent is found
 * nowhere. {@link NoPlaintextOnServerTest} repeats these positive controls in its own runs.
 */
class StoredBytesSearchTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(StoredBytes.Backend.class)
    void shouldFindPlaintextThatWasStoredUnencryptedAndNothingThatWasNeverSent(StoredBytes.Backend backend)
        throws Exception {
        StoredBytes stored = new StoredBytes(backend);
        String text = "CONTROL-TEXT-" + UUID.randomUUID();
        String blob = "CONTROL-MEDIA-" + UUID.randomUUID();
        String never = "NEVER-SENT-" + UUID.randomUUID();
        try (TestServer server = new TestServer(dir, stored.overrides()).start();
             ChaosProxy proxy = new ChaosProxy(server.tcpPort)) {
            try (RawClient alice = RawClient.connect(proxy.port(), "alice", "1", server.token("alice"))) {
                alice.sendAndAwaitAccepted(Send.newBuilder().setClientMessageId("control-text").setRecipient("bob")
                    .setContentType("text/plain").setPayload(ByteString.copyFromUtf8(text)).build());
                byte[] bytes = blob.getBytes(StandardCharsets.UTF_8);
                MediaSlot slot = alice.upload(bytes, "application/octet-stream");
                alice.sendAndAwaitAccepted(Send.newBuilder().setClientMessageId("control-media").setRecipient("bob")
                    .setContentType("text/plain").setMedia(MediaRef.newBuilder().setUrl(slot.getDownloadUrl())
                        .setContentType("application/octet-stream").setSizeBytes(bytes.length)
                        .setSha256(ByteString.copyFrom(java.security.MessageDigest.getInstance("SHA-256").digest(bytes))))
                    .build());
            }
            server.stop();
            PlaintextSearch search = new PlaintextSearch(Map.of("text", text, "blob", blob, "never", never));
            List<PlaintextSearch.Report> reports = stored.search(search, server, proxy.capture);
            PlaintextSearch.Report files = reports.get(0);
            PlaintextSearch.Report entries = reports.get(1);
            PlaintextSearch.Report wire = reports.get(2);

            assertThat(files.hitsOf("blob")).as("the blob store's file").isNotEmpty();
            assertThat(entries.hitsOf("text")).as(entries.what()).isNotEmpty();
            if (backend == StoredBytes.Backend.ROCKSDB) {
                assertThat(files.hitsOf("text")).as("RocksDB's files (the write-ahead log)").isNotEmpty();
            }
            assertThat(wire.hitsOf("text")).isNotEmpty();
            reports.forEach(r -> assertThat(r.hitsOf("never")).as(r.what()).isEmpty());
            assertThat(wire.bytes()).isEqualTo(proxy.bytesFromClient.get() + proxy.bytesFromServer.get());
        }
    }
}
