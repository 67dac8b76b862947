package io.courier.router.auth;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchService;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Requests from the command line to the running server that owns a data directory: revoke a
 * user's tokens, read the keys again. One file per request in {@code DATA_DIR/auth-requests}; the
 * server takes each, does it, and deletes the file, so a command knows it was done when its file
 * is gone. A server holds a lock on {@code DATA_DIR/auth-requests/server.lock} while it runs, so a
 * command knows whether anyone will take its request now; if nobody does, the request waits and a
 * server does it when it starts, before it accepts a connection.
 *
 * <p>Files, not a network call: whoever may write the data directory may also read its keys and
 * mint any token, so the file system's permissions already are the authority this needs, and a
 * network endpoint would need one of its own. A request that cannot be done is renamed to
 * {@code NAME.failed} with the reason appended, for the command to report.
 *
 * <pre>
 *   revoke USER BEFORE_MS      tokens of USER issued before BEFORE_MS (ms since the epoch) are refused
 *   reload-keys                read the key directory again now
 * </pre>
 */
public final class AuthRequests implements AutoCloseable {

    /** The directory's name inside the data directory. */
    public static final String DIRECTORY = "auth-requests";

    private static final String LOCK = "server.lock";
    private static final String SUFFIX = ".request";
    private static final String FAILED = ".failed";
    private static final Pattern USER = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final SecureRandom RANDOM = new SecureRandom();

    /** One request. */
    public sealed interface Request {
        /** Tokens of {@code user} issued before {@code beforeMs} are refused. */
        record Revoke(String user, long beforeMs) implements Request {
        }

        /** Read the key directory again. */
        record ReloadKeys() implements Request {
        }
    }

    /** A request taken from the directory, to be done and then {@link #done} or {@link #failed}. */
    public record Pending(Path file, Request request) {
    }

    private final Path directory;
    private final FileChannel lockChannel;
    private final FileLock lock;

    private AuthRequests(Path directory, FileChannel lockChannel, FileLock lock) {
        this.directory = directory;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /** Where the requests of {@code dataDirectory} live. */
    public static Path directoryOf(Path dataDirectory) {
        return dataDirectory.toAbsolutePath().normalize().resolve(DIRECTORY);
    }

    /**
     * For a server: creates the directory if needed and takes its lock, waiting up to
     * {@code patience} for a command that holds it for a moment.
     *
     * @throws IllegalStateException naming the lock file when another process keeps it: another
     *     server on the same data directory.
     * @throws UncheckedIOException naming the directory when it cannot be made or the lock file opened.
     */
    public static AuthRequests claim(Path dataDirectory, Duration patience) {
        Path dir = directoryOf(dataDirectory);
        createDirectory(dir);
        Path lockFile = dir.resolve(LOCK);
        long deadline = System.nanoTime() + patience.toNanos();
        FileChannel channel;
        try {
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot open " + lockFile + ": " + e.getMessage(), e);
        }
        try {
            while (true) {
                FileLock lock = tryLock(channel);
                if (lock != null) {
                    return new AuthRequests(dir, channel, lock);
                }
                if (System.nanoTime() >= deadline) {
                    throw new IllegalStateException("Another process holds " + lockFile + ": is another Courier "
                        + "server running on this data-dir? Stop it, or give this one another data-dir");
                }
                TimeUnit.MILLISECONDS.sleep(50);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeQuietly(channel);
            throw new IllegalStateException("Interrupted while waiting for " + lockFile, e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    /**
     * Whether a server holds the lock of {@code dataDirectory}'s requests right now. A command
     * asks so it knows whether to wait for its request to be taken.
     */
    public static boolean serverRunning(Path dataDirectory) {
        Path lockFile = directoryOf(dataDirectory).resolve(LOCK);
        if (!Files.exists(lockFile)) {
            return false;
        }
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
            FileLock lock = tryLock(channel);
            if (lock == null) {
                return true;
            }
            lock.release();
            return false;
        } catch (OverlappingFileLockException thisProcessHoldsIt) {
            return true;
        } catch (NoSuchFileException gone) {
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot open " + lockFile + ": " + e.getMessage(), e);
        }
    }

    /**
     * For a command: writes {@code request} for the server of {@code dataDirectory} to take.
     *
     * @return the request's file, which disappears once a server has done the request.
     */
    public static Path submit(Path dataDirectory, Request request) {
        Path dir = directoryOf(dataDirectory);
        createDirectory(dir);
        String name = String.format("%016x-%08x", System.currentTimeMillis(), RANDOM.nextInt());
        Path temporary = dir.resolve("." + name + ".tmp");
        Path file = dir.resolve(name + SUFFIX);
        try {
            try (FileChannel out = FileChannel.open(temporary, Set.of(StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
                out.write(ByteBuffer.wrap((encode(request) + "\n").getBytes(StandardCharsets.UTF_8)));
                out.force(true);
            }
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write a request to " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Waits up to {@code patience} for a server to take the request in {@code file}.
     *
     * @return empty when it was done; the reason when it failed.
     * @throws java.util.concurrent.TimeoutException when it is still waiting.
     */
    public static Optional<String> awaitTaken(Path file, Duration patience)
        throws InterruptedException, java.util.concurrent.TimeoutException {
        Path failed = file.resolveSibling(file.getFileName() + FAILED);
        long deadline = System.nanoTime() + patience.toNanos();
        try (WatchService watcher = file.getFileSystem().newWatchService()) {
            file.getParent().register(watcher, StandardWatchEventKinds.ENTRY_DELETE, StandardWatchEventKinds.ENTRY_CREATE);
            while (true) {
                // The server places NAME.failed before it deletes NAME: with NAME gone, look again.
                boolean gone = !Files.exists(file);
                if (Files.exists(failed)) {
                    String text = Files.readString(failed, StandardCharsets.UTF_8);
                    Files.deleteIfExists(failed);
                    String[] lines = text.strip().split("\n", 2);
                    return Optional.of(lines.length > 1 ? lines[1].strip() : "no reason given");
                }
                if (gone) {
                    return Optional.empty();
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new java.util.concurrent.TimeoutException("No server took " + file + " within " + patience);
                }
                // Woken by any change in the directory; checked again either way.
                var key = watcher.poll(Math.min(left, TimeUnit.MILLISECONDS.toNanos(250)), TimeUnit.NANOSECONDS);
                if (key != null) {
                    key.pollEvents();
                    key.reset();
                }
            }
        } catch (ClosedWatchServiceException | IOException e) {
            throw new UncheckedIOException(new IOException("Cannot watch " + file.getParent() + ": " + e.getMessage(), e));
        }
    }

    /**
     * The requests waiting, oldest first. A file that is no request (a typo, a stray file) is
     * marked failed with the reason and skipped.
     */
    public List<Pending> pending() {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory, "*" + SUFFIX)) {
            stream.forEach(files::add);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list the requests in " + directory + ": " + e.getMessage(), e);
        }
        files.sort(null);
        List<Pending> out = new ArrayList<>();
        for (Path file : files) {
            String text;
            try {
                text = Files.readString(file, StandardCharsets.UTF_8).strip();
            } catch (NoSuchFileException gone) {
                continue;
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read the request " + file + ": " + e.getMessage(), e);
            }
            Optional<Request> request = decode(text);
            if (request.isPresent()) {
                out.add(new Pending(file, request.get()));
            } else {
                failed(new Pending(file, null), "not a request: '" + text + "'");
            }
        }
        return out;
    }

    /** The request is done: its file goes, which tells the command that wrote it. */
    public void done(Pending pending) {
        try {
            Files.deleteIfExists(pending.file());
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot delete the request " + pending.file() + ": " + e.getMessage(), e);
        }
    }

    /** The request cannot be done: its file becomes {@code NAME.failed}, with {@code reason} after the request. */
    public void failed(Pending pending, String reason) {
        Path file = pending.file();
        Path failed = file.resolveSibling(file.getFileName() + FAILED);
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8).strip();
            // Written aside and renamed, so the command waiting for it never reads half of it.
            Path temporary = failed.resolveSibling("." + failed.getFileName() + ".tmp");
            Files.writeString(temporary, text + "\n" + reason + "\n", StandardCharsets.UTF_8);
            Files.move(temporary, failed, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            Files.deleteIfExists(file);
        } catch (NoSuchFileException gone) {
            // Taken already.
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot mark the request " + file + " failed: " + e.getMessage(), e);
        }
    }

    /** Releases the lock: a command now finds no server. */
    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException e) {
            // The channel closes below, which releases it too.
        } finally {
            closeQuietly(lockChannel);
        }
    }

    // ---------------------------------------------------------------- the format

    static String encode(Request request) {
        if (request instanceof Request.Revoke r) {
            return "revoke " + r.user() + " " + r.beforeMs();
        }
        return "reload-keys";
    }

    static Optional<Request> decode(String line) {
        String[] words = line.strip().split(" ");
        if (words.length == 1 && words[0].equals("reload-keys")) {
            return Optional.of(new Request.ReloadKeys());
        }
        if (words.length == 3 && words[0].equals("revoke") && USER.matcher(words[1]).matches()) {
            try {
                return Optional.of(new Request.Revoke(words[1], Long.parseLong(words[2])));
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }
        return Optional.empty();
    }

    // ---------------------------------------------------------------- plumbing

    private static FileLock tryLock(FileChannel channel) {
        try {
            return channel.tryLock();
        } catch (OverlappingFileLockException thisProcessHoldsIt) {
            // Another server in this JVM (a test) holds it: as busy as another process.
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot lock a file in " + AuthRequests.DIRECTORY + ": " + e.getMessage(), e);
        }
    }

    private static void createDirectory(Path dir) {
        try {
            Files.createDirectories(dir.getParent());
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (FileAlreadyExistsException exists) {
            if (!Files.isDirectory(dir)) {
                throw new UncheckedIOException("Cannot create " + dir + ": a file is in the way", exists);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // Nothing else holds it; the process's exit would close it too.
        }
    }
}
