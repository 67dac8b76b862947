package io.courier.client.crypto;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.crypto.BadPaddingException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Encrypts media before upload and opens it after download (docs/E2E.md section 8), as Signal
 * does attachments:
 * <pre>
 * mediaKey = aesKey (32) || macKey (32), random
 * blob     = iv (16, random) || AES-256-CBC-PKCS7(aesKey, iv, file) || HMAC(macKey, iv || cbcCiphertext)
 * </pre>
 * Both directions stream through a fixed 64 KiB buffer, so a 100 MiB file takes no more memory
 * than a small one. They block on file I/O; an I/O failure is an {@link UncheckedIOException}.
 */
public final class MediaCipher {
    private static final int BUFFER = 64 * 1024;
    private static final int IV = 16;
    private static final int TAG = 32;

    private MediaCipher() {
    }

    /**
     * Writes the blob of {@code file} to {@code blobOut} under a fresh key (64 bytes of
     * {@code entropy}, then 16 for the iv) and returns what the receiver needs, to send inside the
     * encrypted message.
     */
    public static MediaKeyInfo encrypt(Path file, Path blobOut, String fileName, String contentType, Entropy entropy) {
        byte[] mediaKey = entropy.bytes(64);
        byte[] iv = entropy.bytes(IV);
        try {
            Cipher cipher = Cipher.getInstance("AES/CBC/PKCS5Padding");
            cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(mediaKey, 0, 32, "AES"), new IvParameterSpec(iv));
            Mac mac = Hmac.mac(Arrays.copyOfRange(mediaKey, 32, 64));
            MessageDigest sha = Primitives.sha256();
            long size = 0;
            try (InputStream in = Files.newInputStream(file); OutputStream out = Files.newOutputStream(blobOut)) {
                write(out, sha, iv);
                mac.update(iv);
                byte[] buf = new byte[BUFFER];
                for (int n; (n = in.read(buf)) > 0; ) {
                    size += n;
                    byte[] ct = cipher.update(buf, 0, n);
                    if (ct != null) {
                        mac.update(ct);
                        write(out, sha, ct);
                    }
                }
                byte[] last = cipher.doFinal();
                mac.update(last);
                write(out, sha, last);
                write(out, sha, mac.doFinal());
            }
            return new MediaKeyInfo(mediaKey, sha.digest(), size, fileName, contentType);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encrypt " + file + " into " + blobOut, e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK's AES-CBC cannot encrypt", e);
        }
    }

    /**
     * Checks the downloaded {@code blob} against {@code info} (its SHA-256, then its HMAC) and only
     * then decrypts it into {@code fileOut}, through a temporary file beside it, so that no
     * unauthenticated or partial plaintext is ever written there. A mismatch, bad padding or wrong
     * size is {@link Reason#BAD_MEDIA}. The blob must not change while this runs.
     */
    public static void decrypt(Path blob, Path fileOut, MediaKeyInfo info) {
        byte[] key = info.mediaKey();
        try {
            long size = Files.size(blob);
            if (size < IV + 16 + TAG || (size - IV - TAG) % 16 != 0) {
                throw new E2eException(Reason.BAD_MEDIA, "a media blob of " + size + " bytes cannot be iv, CBC blocks and a MAC");
            }
            authenticate(blob, size, info, Arrays.copyOfRange(key, 32, 64));
            Path dir = fileOut.toAbsolutePath().getParent();
            Path tmp = Files.createTempFile(dir, ".courier-media-", ".part");
            try {
                long plain = decryptTo(blob, size, tmp, Arrays.copyOf(key, 32));
                if (plain != info.plainSize()) {
                    throw new E2eException(Reason.BAD_MEDIA, "the media decrypts to " + plain + " bytes, the message says "
                            + info.plainSize());
                }
                try {
                    Files.move(tmp, fileOut, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, fileOut, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot decrypt " + blob + " into " + fileOut, e);
        }
    }

    private static void authenticate(Path blob, long size, MediaKeyInfo info, byte[] macKey) throws IOException {
        MessageDigest sha = Primitives.sha256();
        Mac mac = Hmac.mac(macKey);
        byte[] tag = new byte[TAG];
        long macEnd = size - TAG;
        long at = 0;
        try (InputStream in = Files.newInputStream(blob)) {
            byte[] buf = new byte[BUFFER];
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
                int macPart = (int) Math.max(0, Math.min(n, macEnd - at));
                mac.update(buf, 0, macPart);
                for (int i = macPart; i < n; i++) {
                    long tagAt = at + i - macEnd;
                    if (tagAt < TAG) {
                        tag[(int) tagAt] = buf[i];
                    }
                }
                at += n;
            }
        }
        if (at != size || !MessageDigest.isEqual(sha.digest(), info.blobSha256())) {
            throw new E2eException(Reason.BAD_MEDIA, "the media blob's SHA-256 is not the one in the message");
        }
        if (!MessageDigest.isEqual(mac.doFinal(), tag)) {
            throw new E2eException(Reason.BAD_MEDIA, "the media blob's MAC does not verify");
        }
    }

    private static long decryptTo(Path blob, long size, Path out, byte[] aesKey) throws IOException {
        try (InputStream in = Files.newInputStream(blob); OutputStream o = Files.newOutputStream(out)) {
            byte[] iv = in.readNBytes(IV);
            Cipher cipher = Cipher.getInstance("AES/CBC/PKCS5Padding");
            cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(aesKey, "AES"), new IvParameterSpec(iv));
            long remaining = size - IV - TAG;
            long plain = 0;
            byte[] buf = new byte[BUFFER];
            while (remaining > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, remaining));
                if (n <= 0) {
                    throw new E2eException(Reason.BAD_MEDIA, "the media blob ended early");
                }
                remaining -= n;
                byte[] pt = cipher.update(buf, 0, n);
                if (pt != null) {
                    o.write(pt);
                    plain += pt.length;
                }
            }
            byte[] last = cipher.doFinal();
            o.write(last);
            return plain + last.length;
        } catch (BadPaddingException e) {
            throw new E2eException(Reason.BAD_MEDIA, "the media blob's padding is wrong", e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK's AES-CBC cannot decrypt", e);
        }
    }

    private static void write(OutputStream out, MessageDigest sha, byte[] b) throws IOException {
        sha.update(b);
        out.write(b);
    }
}
