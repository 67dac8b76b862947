package io.courier.client;

import java.net.URI;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The file a message carries: the blob was uploaded over HTTP to the server's media service (or
 * straight to S3), and the chat connection carried only this reference to it.
 *
 * @param url          where the blob is downloaded from (presigned; empty while an outgoing
 *                     message's upload has not finished)
 * @param contentType  the blob's MIME type, e.g. {@code image/png}
 * @param sizeBytes    the blob's size in bytes
 * @param sha256       the blob's SHA-256, 32 bytes (do not modify the array)
 * @param file         the local copy: for an outgoing message the copy taken when it was sent, for
 *                     an incoming one the downloaded file, or null until {@link CourierClient#download}
 *                     stored it
 */
public record Media(String url, String contentType, long sizeBytes, byte[] sha256, Path file) {

    public Media {
        Objects.requireNonNull(url, "url");
        Objects.requireNonNull(contentType, "contentType");
        Objects.requireNonNull(sha256, "sha256");
    }

    /** True once the blob is on this device, verified. */
    public boolean isLocal() {
        return file != null;
    }

    /** True for {@code image/*} blobs, which a client may show inline. */
    public boolean isImage() {
        return contentType.startsWith("image/");
    }

    /** The SHA-256 in lower-case hex. */
    public String sha256Hex() {
        return HexFormat.of().formatHex(sha256);
    }

    /** The download URL as a URI. */
    public URI uri() {
        return URI.create(url);
    }

    @Override
    public String toString() {
        return "Media[" + contentType + ", " + sizeBytes + " bytes, sha256 " + sha256Hex()
            + (file == null ? "" : ", " + file) + "]";
    }
}
