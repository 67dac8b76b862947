package io.courier.media;

import java.net.URI;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Where uploaded blobs live. A key is {@code USER/NAME}: the uploader's user id and an unguessable
 * name. Either the store hands out presigned URLs of its own ({@link #presign}, e.g. S3, and the
 * media service never sees the bytes), or it keeps files the media service serves itself
 * ({@link #local}, the filesystem store). Methods may block; the media service calls them off its
 * event loop.
 */
public interface BlobStore extends AutoCloseable {

    /** The provider's name, for logs. */
    String name();

    /**
     * Presigned URLs for uploading and downloading {@code slot}, made by the store; empty when the
     * media service is to sign its own URLs and serve the bytes through {@link #local}.
     */
    Optional<SlotUrls> presign(Slot slot);

    /** Files the media service serves; empty for a store that presigns its own URLs. */
    Optional<LocalBlobs> local();

    /** The key a download URL of this store names, or empty when it is not one of this store's. */
    default Optional<String> keyOf(URI downloadUrl) {
        return Optional.empty();
    }

    /** The stored blob {@code key}, or empty when there is none. */
    Optional<StoredBlob> stat(String key);

    /** Every stored blob (for cleanup). */
    List<StoredBlob> list();

    /** Removes blob {@code key}; nothing when it is absent. */
    void delete(String key);

    @Override
    void close();

    /**
     * One upload slot.
     *
     * @param key              {@code USER/NAME}.
     * @param contentType      the type the upload must declare.
     * @param sizeBytes        the exact length of the upload.
     * @param sha256           the SHA-256 the upload must have, 32 bytes.
     * @param uploadExpires    after this the upload URL is refused.
     * @param downloadExpires  after this the download URL is refused.
     */
    record Slot(String key, String contentType, long sizeBytes, byte[] sha256, Instant uploadExpires,
                Instant downloadExpires) {
    }

    /**
     * Presigned URLs and the headers the upload must carry exactly as given.
     */
    record SlotUrls(URI uploadUrl, java.util.Map<String, String> uploadHeaders, URI downloadUrl) {
        public SlotUrls {
            uploadHeaders = java.util.Map.copyOf(uploadHeaders);
        }
    }

    /** A stored blob: its key, size, and when it was stored. */
    record StoredBlob(String key, long sizeBytes, Instant storedAt) {
    }

    /** The files of a store the media service serves itself. */
    interface LocalBlobs {
        /** A new, empty staging file for an upload of {@code key}, not yet visible as the blob. */
        Path stage(String key);

        /**
         * Makes {@code staged} blob {@code key}, atomically.
         *
         * @return false, deleting {@code staged}, when the blob already exists (slots are single-use).
         */
        boolean commit(Path staged, String key);

        /** The file holding blob {@code key}, or empty when there is none. */
        Optional<Path> file(String key);

        /** Staging files left behind (a crash during an upload), with when they were created. */
        List<StoredBlob> staged();

        /** Deletes staging file {@code name} as {@link #staged} named it. */
        void deleteStaged(String name);
    }
}
