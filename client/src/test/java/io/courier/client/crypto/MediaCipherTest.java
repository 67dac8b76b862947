package io.courier.client.crypto;

import static io.courier.client.crypto.Reasons.assertFails;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Media encryption: a streamed round trip of several MiB, and a refusal for every kind of damage. */
class MediaCipherTest {
    @TempDir
    Path dir;

    private final Entropy entropy = Entropy.secure();

    @Test
    void shouldRoundTripAFileOfSeveralMebibytes() throws IOException {
        Path file = dir.resolve("big.bin");
        Random random = new Random(1);
        byte[] chunk = new byte[100_000];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int i = 0; i < 40; i++) {
                random.nextBytes(chunk);
                out.write(chunk);
            }
        }
        Path blob = dir.resolve("blob");
        MediaKeyInfo info = MediaCipher.encrypt(file, blob, "big.bin", "application/x-test", entropy);
        assertThat(info.plainSize()).isEqualTo(4_000_000);
        // iv, whole CBC blocks with at least one byte of padding, and the MAC.
        assertThat(Files.size(blob)).isEqualTo(16 + (4_000_000 / 16 + 1) * 16 + 32);
        assertThat(info.blobSha256()).isEqualTo(Primitives.sha256(Files.readAllBytes(blob)));
        Path out = dir.resolve("out.bin");
        MediaCipher.decrypt(blob, out, info);
        assertThat(Files.mismatch(file, out)).isEqualTo(-1);
    }

    @Test
    void shouldStreamAFileLargerThanTheWholeHeap() throws Exception {
        // 40 MiB through a JVM with a 24 MiB heap: buffering the file, or a blob, would run out of memory.
        Path file = dir.resolve("huge.bin");
        byte[] chunk = new byte[1 << 20];
        new Random(3).nextBytes(chunk);
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int i = 0; i < 40; i++) {
                chunk[0] = (byte) i;
                out.write(chunk);
            }
        }
        Path out = dir.resolve("huge.out");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx24m",
                "-cp", System.getProperty("java.class.path"), MediaRoundTrip.class.getName(),
                file.toString(), dir.resolve("huge.blob").toString(), out.toString())
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(output).isZero();
        assertThat(output).contains("plain size " + (40L << 20));
        assertThat(Files.mismatch(file, out)).isEqualTo(-1);
    }

    @Test
    void shouldRoundTripAnEmptyFile() throws IOException {
        Path file = Files.write(dir.resolve("empty"), new byte[0]);
        MediaKeyInfo info = MediaCipher.encrypt(file, dir.resolve("blob"), "empty", "text/plain", entropy);
        MediaCipher.decrypt(dir.resolve("blob"), dir.resolve("out"), info);
        assertThat(Files.readAllBytes(dir.resolve("out"))).isEmpty();
    }

    @Test
    void shouldRefuseAChangedByteAWrongDigestOrAWrongKey() throws IOException {
        byte[] content = new byte[5000];
        new Random(2).nextBytes(content);
        Path file = Files.write(dir.resolve("f"), content);
        Path blob = dir.resolve("blob");
        MediaKeyInfo info = MediaCipher.encrypt(file, blob, "f", "image/png", entropy);
        byte[] good = Files.readAllBytes(blob);
        Path out = dir.resolve("out");
        for (int at : new int[] {0, 15, 16, 100, good.length - 33, good.length - 1}) {
            byte[] bad = good.clone();
            bad[at] ^= 1;
            Files.write(blob, bad);
            assertFails(Reason.BAD_MEDIA, () -> MediaCipher.decrypt(blob, out, info));
            // With the digest of the changed blob, the MAC still catches it.
            MediaKeyInfo matchingDigest = new MediaKeyInfo(info.mediaKey(), Primitives.sha256(bad), info.plainSize(),
                    info.fileName(), info.contentType());
            assertFails(Reason.BAD_MEDIA, () -> MediaCipher.decrypt(blob, out, matchingDigest));
            assertThat(out).doesNotExist();
        }
        Files.write(blob, good);
        MediaKeyInfo wrongDigest = new MediaKeyInfo(info.mediaKey(), new byte[32], info.plainSize(), "f", "image/png");
        assertFails(Reason.BAD_MEDIA, () -> MediaCipher.decrypt(blob, out, wrongDigest));
        MediaKeyInfo wrongKey = new MediaKeyInfo(entropy.bytes(64), info.blobSha256(), info.plainSize(), "f", "image/png");
        assertFails(Reason.BAD_MEDIA, () -> MediaCipher.decrypt(blob, out, wrongKey));
        MediaKeyInfo wrongSize = new MediaKeyInfo(info.mediaKey(), info.blobSha256(), 4999, "f", "image/png");
        assertFails(Reason.BAD_MEDIA, () -> MediaCipher.decrypt(blob, out, wrongSize));
        Files.write(blob, java.util.Arrays.copyOf(good, good.length - 16));
        assertFails(Reason.BAD_MEDIA, () -> MediaCipher.decrypt(blob, out, info));
        assertThat(out).doesNotExist();
        try (var leftovers = Files.list(dir)) {
            assertThat(leftovers.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".part"));
        }
        Files.write(blob, good);
        MediaCipher.decrypt(blob, out, info);
        assertThat(Files.readAllBytes(out)).isEqualTo(content);
        assertThat(info.toString()).doesNotContain(Bytes.hex(info.mediaKey()));
    }
}
