package io.courier.server.internal;

import io.courier.server.ConfigException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** The data directory ({@code data-dir}): created if absent, and proven writable before anything opens in it. */
public final class DataDirectory {

    private DataDirectory() {
    }

    /**
     * Creates {@code dir} with its parents if needed and writes and deletes a file in it.
     *
     * @throws ConfigException naming the directory, what is in the way, and the key to change.
     */
    public static void prepare(Path dir) {
        Path absolute = dir.toAbsolutePath().normalize();
        for (Path p = absolute; p != null; p = p.getParent()) {
            if (Files.exists(p) && !Files.isDirectory(p)) {
                throw new ConfigException("data-dir " + absolute + " cannot be used: " + p
                    + (p.equals(absolute) ? " is a file, not a directory" : " is a file, so no directory can be made in it")
                    + "; change data-dir");
            }
            if (Files.isDirectory(p)) {
                break;
            }
        }
        try {
            Files.createDirectories(absolute);
        } catch (IOException e) {
            throw new ConfigException("data-dir " + absolute + " cannot be created: " + reason(e) + "; change data-dir");
        }
        try {
            Path probe = Files.createTempFile(absolute, ".courier-write-check", ".tmp");
            Files.delete(probe);
        } catch (IOException e) {
            throw new ConfigException("data-dir " + absolute + " is not writable: " + reason(e) + "; change data-dir "
                + "or its permissions");
        }
    }

    private static String reason(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NoSuchFileException) {
            // What creating a file under /proc or a vanished directory reports (ENOENT).
            return "the system answered 'no such file or directory'";
        }
        if (e instanceof FileSystemException fs && fs.getReason() != null) {
            return fs.getReason().toLowerCase(java.util.Locale.ROOT);
        }
        return String.valueOf(e.getMessage());
    }
}
