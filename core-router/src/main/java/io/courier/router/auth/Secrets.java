package io.courier.router.auth;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The HMAC secret file: read it, or create it with 32 random bytes, readable by the owner only. */
final class Secrets {

    private static final Logger LOG = LoggerFactory.getLogger(Secrets.class);
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
                    LOG.info("Created a new HMAC secret in {}; tokens signed with any other secret are refused",
                        file.toAbsolutePath().normalize());
                } catch (FileAlreadyExistsException raced) {
                    // Another process created it first; use theirs.
                }
            }
            byte[] secret = Files.readAllBytes(file);
            if (secret.length < SECRET_BYTES) {
                throw new IllegalArgumentException("The secret file " + file.toAbsolutePath() + " holds " + secret.length
                    + " bytes; it needs at least " + SECRET_BYTES + ". Delete it to have a new one created.");
            }
            return secret;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read or create the HMAC secret " + file.toAbsolutePath().normalize()
                + " (key auth.options.secret-file): " + e.getMessage(), e);
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
