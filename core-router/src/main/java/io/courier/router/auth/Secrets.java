package io.courier.router.auth;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;

/** The HMAC secret file: read it, or create it with 32 random bytes, readable by the owner only. */
final class Secrets {

    private static final int SECRET_BYTES = 32;

    private Secrets() {
    }

    static byte[] loadOrCreate(Path file) {
        try {
            if (!Files.exists(file)) {
                Path parent = file.toAbsolutePath().getParent();
                Files.createDirectories(parent);
                byte[] secret = new byte[SECRET_BYTES];
                new SecureRandom().nextBytes(secret);
                try {
                    Files.write(file, secret, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                    trySetOwnerOnly(file);
                } catch (FileAlreadyExistsException raced) {
                    // Another process created it first; use theirs.
                }
            }
            byte[] secret = Files.readAllBytes(file);
            if (secret.length < SECRET_BYTES) {
                throw new IllegalStateException("The secret file " + file.toAbsolutePath() + " holds " + secret.length
                    + " bytes; it needs at least " + SECRET_BYTES + ". Delete it to have a new one created.");
            }
            return secret;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read or create the secret file " + file.toAbsolutePath()
                + " (key auth.secret-file)", e);
        }
    }

    private static void trySetOwnerOnly(Path file) {
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException | IOException e) {
            // Not a POSIX file system; the file keeps the default permissions.
        }
    }
}
