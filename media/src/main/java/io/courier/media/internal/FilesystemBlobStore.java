package io.courier.media.internal;

import io.courier.media.BlobStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Blobs as files: {@code ROOT/blobs/USER/NAME}, uploads staged in {@code ROOT/staging/} and renamed
 * into place once complete and verified. Files are dated by the injected clock, so cleanup ages
 * them by the same clock the service runs on.
 */
public final class FilesystemBlobStore implements BlobStore, BlobStore.LocalBlobs {

    private final Path blobs;
    private final Path staging;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    public FilesystemBlobStore(Path root, Clock clock) {
        this.blobs = root.resolve("blobs");
        this.staging = root.resolve("staging");
        this.clock = clock;
        try {
            Files.createDirectories(blobs);
            Files.createDirectories(staging);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create the media directories under " + root, e);
        }
    }

    @Override
    public String name() {
        return "filesystem";
    }

    @Override
    public Optional<SlotUrls> presign(Slot slot) {
        return Optional.empty();
    }

    @Override
    public Optional<LocalBlobs> local() {
        return Optional.of(this);
    }

    @Override
    public Path stage(String key) {
        byte[] suffix = new byte[8];
        random.nextBytes(suffix);
        Path file = staging.resolve(key.replace('/', '.') + "." + UrlSigner.base64Url(suffix) + ".part");
        try {
            Files.createFile(file);
            Files.setLastModifiedTime(file, FileTime.from(clock.instant()));
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create staging file " + file, e);
        }
    }

    @Override
    public boolean commit(Path staged, String key) {
        Path target = blobs.resolve(key);
        try {
            Files.createDirectories(target.getParent());
            Files.setLastModifiedTime(staged, FileTime.from(clock.instant()));
            // A hard link fails when the target exists, which a rename would silently replace.
            try {
                Files.createLink(target, staged);
            } catch (UnsupportedOperationException noLinks) {
                if (Files.exists(target)) {
                    throw new FileAlreadyExistsException(target.toString());
                }
                Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
                return true;
            }
            Files.delete(staged);
            return true;
        } catch (FileAlreadyExistsException exists) {
            deleteQuietly(staged);
            return false;
        } catch (AtomicMoveNotSupportedException e) {
            deleteQuietly(staged);
            throw new UncheckedIOException("Cannot move " + staged + " into place", e);
        } catch (IOException e) {
            deleteQuietly(staged);
            throw new UncheckedIOException("Cannot store blob " + target, e);
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot delete " + file, e);
        }
    }

    @Override
    public Optional<Path> file(String key) {
        Path file = blobs.resolve(key);
        return Files.isRegularFile(file) ? Optional.of(file) : Optional.empty();
    }

    @Override
    public List<StoredBlob> staged() {
        List<StoredBlob> out = new ArrayList<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(staging)) {
            for (Path p : dir) {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
                out.add(new StoredBlob(p.getFileName().toString(), a.size(), a.lastModifiedTime().toInstant()));
            }
        } catch (NoSuchFileException gone) {
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list " + staging, e);
        }
        return out;
    }

    @Override
    public void deleteStaged(String name) {
        deleteQuietly(staging.resolve(name));
    }

    @Override
    public Optional<StoredBlob> stat(String key) {
        Path file = blobs.resolve(key);
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            return Optional.of(new StoredBlob(key, a.size(), a.lastModifiedTime().toInstant()));
        } catch (NoSuchFileException gone) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file, e);
        }
    }

    @Override
    public List<StoredBlob> list() {
        List<StoredBlob> out = new ArrayList<>();
        try (DirectoryStream<Path> users = Files.newDirectoryStream(blobs)) {
            for (Path user : users) {
                try (DirectoryStream<Path> names = Files.newDirectoryStream(user)) {
                    for (Path name : names) {
                        stat(user.getFileName() + "/" + name.getFileName()).ifPresent(out::add);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list " + blobs, e);
        }
        return out;
    }

    @Override
    public void delete(String key) {
        deleteQuietly(blobs.resolve(key));
    }

    @Override
    public void close() {
    }
}
