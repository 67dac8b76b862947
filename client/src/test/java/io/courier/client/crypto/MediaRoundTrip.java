package io.courier.client.crypto;

import java.nio.file.Path;

/**
 * Encrypts and decrypts one file; {@link MediaCipherTest} runs it in a JVM whose heap is smaller
 * than the file, which only streaming survives.
 */
final class MediaRoundTrip {
    private MediaRoundTrip() {
    }

    public static void main(String[] args) {
        MediaKeyInfo info = MediaCipher.encrypt(Path.of(args[0]), Path.of(args[1]), "big", "application/octet-stream",
                Entropy.secure());
        MediaCipher.decrypt(Path.of(args[1]), Path.of(args[2]), info);
        System.out.println("plain size " + info.plainSize() + ", max heap " + Runtime.getRuntime().maxMemory());
    }
}
