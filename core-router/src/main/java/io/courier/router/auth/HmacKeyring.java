package io.courier.router.auth;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The HMAC keys of a server: a directory ({@code auth.options.key-dir}, {@code DATA_DIR/auth-keys}
 * by default) holding one file per key, {@code ID.key}, whose bytes — all of them, at least
 * {@value #MIN_KEY_BYTES} — are the key. {@code ID} is a positive decimal number; the highest is
 * the <em>active</em> key, which signs new tokens; the others still verify the tokens they signed
 * until they are retired (their file deleted). So a secret is rotated without signing anyone out:
 * {@link #rotate} adds a key that becomes active, and once the tokens of the old one have expired
 * or been replaced, {@link #retire} removes it.
 *
 * <p>The directory is readable by its owner only ({@code rwx------}) and so is every key file
 * ({@code rw-------}); both are created so, never widened afterwards, and a key file that others
 * may read is refused, naming the file and the {@code chmod} that fixes it. Keys are written to a
 * temporary file and renamed into place, so a reader never sees half a key.
 *
 * <p>An instance is an immutable snapshot of the directory as {@link #read} found it.
 */
public final class HmacKeyring {

    /** The shortest key accepted, in bytes; new keys have this many random bytes. */
    public static final int MIN_KEY_BYTES = 32;

    private static final Pattern KEY_FILE = Pattern.compile("([1-9][0-9]{0,8})\\.key");
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Set<PosixFilePermission> OTHERS = Set.of(
        PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
        PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    /**
     * One key as listed by {@link #keys()}.
     *
     * @param id      its id, which tokens name.
     * @param created when its file was written.
     * @param active  whether it signs new tokens.
     */
    public record KeyInfo(int id, Instant created, boolean active) {
    }

    private final Path directory;
    private final SortedMap<Integer, byte[]> secrets;
    private final SortedMap<Integer, Instant> created;

    private HmacKeyring(Path directory, SortedMap<Integer, byte[]> secrets, SortedMap<Integer, Instant> created) {
        this.directory = directory;
        this.secrets = secrets;
        this.created = created;
    }

    /**
     * Reads every key in {@code directory} (none when it does not exist). Never creates a key.
     *
     * @throws IllegalArgumentException naming the file: a key shorter than {@value #MIN_KEY_BYTES}
     *     bytes, or readable by others.
     * @throws UncheckedIOException naming the directory or file that cannot be read.
     */
    public static HmacKeyring read(Path directory) {
        Path dir = directory.toAbsolutePath().normalize();
        SortedMap<Integer, byte[]> secrets = new TreeMap<>();
        SortedMap<Integer, Instant> created = new TreeMap<>();
        for (int id : ids(dir)) {
            Path file = dir.resolve(id + ".key");
            try {
                refuseIfOthersMayRead(file);
                byte[] secret = Files.readAllBytes(file);
                if (secret.length < MIN_KEY_BYTES) {
                    throw new IllegalArgumentException("The HMAC key " + file + " holds " + secret.length
                        + " bytes; a key needs at least " + MIN_KEY_BYTES + ". Delete it, or replace it with "
                        + MIN_KEY_BYTES + " random bytes");
                }
                secrets.put(id, secret);
                created.put(id, Files.getLastModifiedTime(file).toInstant());
            } catch (NoSuchFileException retiredMeanwhile) {
                // Retired between the listing and the read: it is no key of ours any more.
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read the HMAC key " + file + ": " + e.getMessage(), e);
            }
        }
        return new HmacKeyring(dir, Collections.unmodifiableSortedMap(secrets), Collections.unmodifiableSortedMap(created));
    }

    /**
     * As {@link #read}, for a server that starts: creates the directory if absent, moves in a
     * legacy secret ({@link #importLegacy}) and, when it still holds no key, creates key 1.
     *
     * @return the keyring, and what was done to it (a server logs that).
     */
    public static Prepared prepare(Path directory, Path legacySecret) {
        Path dir = directory.toAbsolutePath().normalize();
        createDirectory(dir);
        boolean imported = importLegacy(dir, legacySecret);
        HmacKeyring keys = read(dir);
        if (!keys.isEmpty()) {
            return new Prepared(keys, false, imported);
        }
        writeNew(dir, 1);
        return new Prepared(read(dir), true, false);
    }

    /**
     * What {@link #prepare} found or made.
     *
     * @param keys     the keyring.
     * @param created  key 1 was made, with new random bytes.
     * @param imported the legacy secret became key 1.
     */
    public record Prepared(HmacKeyring keys, boolean created, boolean imported) {
    }

    /**
     * Moves {@code legacySecret} — the single secret file of Courier before keys could be rotated
     * ({@code DATA_DIR/auth.key}) — into {@code directory} as key 1, if the directory holds no key
     * yet, so the tokens it signed keep working. Nothing happens otherwise.
     *
     * @return whether it was moved in.
     * @throws IllegalArgumentException when it is shorter than {@value #MIN_KEY_BYTES} bytes.
     * @throws UncheckedIOException naming both when it cannot be moved.
     */
    public static boolean importLegacy(Path directory, Path legacySecret) {
        Path dir = directory.toAbsolutePath().normalize();
        if (legacySecret == null || !Files.isRegularFile(legacySecret) || !ids(dir).isEmpty()) {
            return false;
        }
        Path legacy = legacySecret.toAbsolutePath().normalize();
        createDirectory(dir);
        try {
            byte[] secret = Files.readAllBytes(legacy);
            if (secret.length < MIN_KEY_BYTES) {
                throw new IllegalArgumentException("The HMAC secret " + legacy + " holds " + secret.length
                    + " bytes; a key needs at least " + MIN_KEY_BYTES + ". Delete it to have a new key made");
            }
            boolean placed = place(dir, 1, secret);
            // Whoever placed key 1 (this process or one racing it) moved the same secret in.
            Files.deleteIfExists(legacy);
            return placed;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot move the HMAC secret " + legacy + " into " + dir + " as key 1: "
                + e.getMessage(), e);
        }
    }

    /**
     * Adds a key with the next id (1 when there is none), which becomes the active key.
     *
     * @return the new key's id.
     * @throws UncheckedIOException naming the directory when it cannot be written.
     */
    public static int rotate(Path directory) {
        Path dir = directory.toAbsolutePath().normalize();
        createDirectory(dir);
        // Two rotations at once: the second finds its id taken and takes the next.
        for (int attempt = 0; attempt < 100; attempt++) {
            List<Integer> ids = ids(dir);
            int next = ids.isEmpty() ? 1 : ids.get(ids.size() - 1) + 1;
            if (writeNew(dir, next)) {
                return next;
            }
        }
        throw new UncheckedIOException(new IOException("Cannot add a key to " + dir + ": every id tried was taken"));
    }

    /**
     * Deletes key {@code id}: tokens it signed are refused from then on.
     *
     * @throws IllegalArgumentException when there is no such key (listing those there are), or it
     *     is the active key (rotate first).
     */
    public static void retire(Path directory, int id) {
        Path dir = directory.toAbsolutePath().normalize();
        List<Integer> ids = ids(dir);
        if (!ids.contains(id)) {
            throw new IllegalArgumentException("There is no key " + id + " in " + dir + "; its keys: "
                + (ids.isEmpty() ? "none" : ids.stream().map(String::valueOf).collect(Collectors.joining(", "))));
        }
        if (id == ids.get(ids.size() - 1)) {
            throw new IllegalArgumentException("Key " + id + " is the active key, which signs new tokens: add a new one "
                + "with 'courier-server key rotate' first, then retire " + id);
        }
        try {
            Files.delete(dir.resolve(id + ".key"));
        } catch (NoSuchFileException alreadyGone) {
            // Retired by someone else meanwhile: the outcome asked for.
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot delete the HMAC key " + dir.resolve(id + ".key") + ": " + e.getMessage(), e);
        }
    }

    /**
     * Something that changes whenever a key file is added, removed or rewritten: a running server
     * compares it to decide whether to read the directory again.
     */
    public static String fingerprint(Path directory) {
        Path dir = directory.toAbsolutePath().normalize();
        StringBuilder out = new StringBuilder();
        for (int id : ids(dir)) {
            Path file = dir.resolve(id + ".key");
            try {
                out.append(id).append('/').append(Files.size(file)).append('/')
                    .append(Files.getLastModifiedTime(file).toMillis()).append(';');
            } catch (IOException gone) {
                out.append(id).append("/gone;");
            }
        }
        return out.toString();
    }

    /** The directory this snapshot was read from, absolute. */
    public Path directory() {
        return directory;
    }

    public boolean isEmpty() {
        return secrets.isEmpty();
    }

    /**
     * The id of the key that signs new tokens: the highest.
     *
     * @throws IllegalStateException when there is no key.
     */
    public int activeId() {
        if (secrets.isEmpty()) {
            throw new IllegalStateException("No HMAC key in " + directory);
        }
        return secrets.lastKey();
    }

    /** The bytes of key {@code id}, if this keyring holds it. Not copied: do not change them. */
    Optional<byte[]> secret(int id) {
        return Optional.ofNullable(secrets.get(id));
    }

    /** Every key, lowest id first. */
    public List<KeyInfo> keys() {
        List<KeyInfo> out = new ArrayList<>();
        created.forEach((id, at) -> out.add(new KeyInfo(id, at, id == secrets.lastKey())));
        return out;
    }

    @Override
    public String toString() {
        return "HmacKeyring" + secrets.keySet() + " in " + directory;
    }

    // ---------------------------------------------------------------- files

    /** Key ids in the directory, ascending; none when it does not exist. */
    private static List<Integer> ids(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<Integer> ids = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path file : files) {
                Matcher m = KEY_FILE.matcher(file.getFileName().toString());
                if (m.matches()) {
                    ids.add(Integer.parseInt(m.group(1)));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list the HMAC keys in " + dir + ": " + e.getMessage(), e);
        }
        Collections.sort(ids);
        return ids;
    }

    private static void createDirectory(Path dir) {
        if (Files.isDirectory(dir)) {
            return;
        }
        try {
            Files.createDirectories(dir.getParent());
            Files.createDirectory(dir, ownerOnly("rwx------"));
        } catch (FileAlreadyExistsException raced) {
            if (!Files.isDirectory(dir)) {
                throw new UncheckedIOException("Cannot create the HMAC key directory " + dir + ": a file is in the way", raced);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create the HMAC key directory " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Writes key {@code id} with fresh random bytes; false when that id exists already. */
    private static boolean writeNew(Path dir, int id) {
        byte[] secret = new byte[MIN_KEY_BYTES];
        RANDOM.nextBytes(secret);
        return place(dir, id, secret);
    }

    /** Writes {@code secret} as key {@code id} through a temporary file; false when the id is taken. */
    private static boolean place(Path dir, int id, byte[] secret) {
        Path target = dir.resolve(id + ".key");
        Path temporary = dir.resolve("." + id + ".key." + Long.toHexString(RANDOM.nextLong()) + ".tmp");
        try {
            try (FileChannel out = FileChannel.open(temporary, Set.of(StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE), ownerOnly("rw-------"))) {
                out.write(ByteBuffer.wrap(secret));
                out.force(true);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot write a new HMAC key in " + dir + ": " + e.getMessage(), e);
            }
            try {
                // A link, then removing the temporary name: unlike a rename it never replaces a key
                // another process placed under the same id meanwhile.
                Files.createLink(target, temporary);
                return true;
            } catch (FileAlreadyExistsException taken) {
                return false;
            } catch (UnsupportedOperationException | IOException noHardLinks) {
                return placeByMove(temporary, target);
            }
        } finally {
            try {
                Files.deleteIfExists(temporary);
            } catch (IOException e) {
                // A stray temporary file is ignored by every reader (its name is no key's).
            }
        }
    }

    private static boolean placeByMove(Path temporary, Path target) {
        try {
            if (Files.exists(target)) {
                return false;
            }
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (AtomicMoveNotSupportedException e) {
            throw new UncheckedIOException("Cannot place the HMAC key " + target + " atomically: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the HMAC key " + target + ": " + e.getMessage(), e);
        }
    }

    private static void refuseIfOthersMayRead(Path file) throws IOException {
        Set<PosixFilePermission> permissions;
        try {
            permissions = Files.getPosixFilePermissions(file);
        } catch (UnsupportedOperationException notPosix) {
            return;
        }
        if (!Collections.disjoint(permissions, OTHERS)) {
            throw new IllegalArgumentException("The HMAC key " + file + " may be read by others ("
                + PosixFilePermissions.toString(permissions) + "); make it its owner's alone: chmod 600 " + file);
        }
    }

    private static FileAttribute<?>[] ownerOnly(String permissions) {
        boolean posix = FileSystemsHolder.POSIX;
        return posix ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(permissions))}
            : new FileAttribute<?>[0];
    }

    /** Whether the default file system has POSIX permissions (Linux, macOS; not Windows). */
    private static final class FileSystemsHolder {
        static final boolean POSIX = java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    }
}
