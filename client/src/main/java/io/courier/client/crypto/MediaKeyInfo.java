package io.courier.client.crypto;

import java.util.Arrays;
import java.util.Objects;

/**
 * What a receiver needs to fetch and open an encrypted media blob (docs/E2E.md sections 7, 8); it
 * travels inside the encrypted {@link PlainMessage}. {@link #toString()} hides the key.
 *
 * @param mediaKey 64 bytes: the AES-256 key, then the HMAC key
 * @param blobSha256 the SHA-256 of the uploaded blob
 * @param plainSize the size of the file before encryption
 * @param fileName the file's name
 * @param contentType the file's real content type
 */
public record MediaKeyInfo(byte[] mediaKey, byte[] blobSha256, long plainSize, String fileName, String contentType) {

    /** Checks the lengths: a 64-byte key, a 32-byte digest, a size of zero or more. */
    public MediaKeyInfo {
        if (mediaKey == null || mediaKey.length != 64) {
            throw new E2eException(Reason.MALFORMED, "a media key is 64 bytes");
        }
        if (blobSha256 == null || blobSha256.length != 32) {
            throw new E2eException(Reason.MALFORMED, "a blob digest is 32 bytes");
        }
        if (plainSize < 0) {
            throw new E2eException(Reason.MALFORMED, "a file size is not negative: " + plainSize);
        }
        Objects.requireNonNull(fileName, "fileName");
        Objects.requireNonNull(contentType, "contentType");
        mediaKey = mediaKey.clone();
        blobSha256 = blobSha256.clone();
    }

    @Override
    public byte[] mediaKey() {
        return mediaKey.clone();
    }

    @Override
    public byte[] blobSha256() {
        return blobSha256.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MediaKeyInfo m && Arrays.equals(mediaKey, m.mediaKey) && Arrays.equals(blobSha256, m.blobSha256)
                && plainSize == m.plainSize && fileName.equals(m.fileName) && contentType.equals(m.contentType);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(blobSha256), plainSize, fileName, contentType);
    }

    @Override
    public String toString() {
        return "MediaKeyInfo[mediaKey=<hidden>, blobSha256=" + Bytes.hex(blobSha256) + ", plainSize=" + plainSize
                + ", fileName=" + fileName + ", contentType=" + contentType + "]";
    }
}
