package io.courier.media.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs and checks the media service's own URLs: HMAC-SHA256 over the method, the path, the
 * expiry, the content length, the content type and (for uploads) the SHA-256, with a key kept in
 * the data directory (made on first use). The signed values travel in the query string, so the
 * service keeps no state per slot.
 */
public final class UrlSigner {

    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private final byte[] key;

    private UrlSigner(byte[] key) {
        this.key = key;
    }

    /** The key in {@code file}, made (32 random bytes, owner-only) when absent. */
    public static UrlSigner fromKeyFile(Path file) {
        try {
            Files.createDirectories(file.getParent());
            if (!Files.exists(file)) {
                byte[] fresh = new byte[32];
                new SecureRandom().nextBytes(fresh);
                Path temp = Files.createTempFile(file.getParent(), "url-signing", ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                Files.write(temp, fresh);
                try {
                    Files.move(temp, file);
                } catch (FileAlreadyExistsException raced) {
                    Files.delete(temp);
                }
            }
            byte[] key = Files.readAllBytes(file);
            if (key.length < 32) {
                throw new IllegalStateException("Media URL signing key " + file + " has " + key.length
                    + " bytes, needs at least 32; delete it to have a new one made (URLs handed out so far stop working)");
            }
            return new UrlSigner(key);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read or create the media URL signing key " + file, e);
        }
    }

    /** The signed fields of a URL. {@code sha256} is empty for downloads. */
    public record Signed(String method, String path, long expiresMs, long length, String contentType, String sha256) {
    }

    /** The query string carrying {@code s} and its signature. */
    public String query(Signed s) {
        Map<String, String> q = new LinkedHashMap<>();
        q.put("exp", Long.toString(s.expiresMs()));
        q.put("len", Long.toString(s.length()));
        q.put("type", s.contentType());
        if (!s.sha256().isEmpty()) {
            q.put("sha", s.sha256());
        }
        q.put("sig", signature(s));
        StringBuilder out = new StringBuilder();
        q.forEach((k, v) -> out.append(out.length() == 0 ? "" : "&").append(k).append('=')
            .append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
        return out.toString();
    }

    /** Whether {@code sig} is the signature of {@code s}, compared in constant time. */
    public boolean verifies(Signed s, String sig) {
        return sig != null && MessageDigest.isEqual(signature(s).getBytes(StandardCharsets.US_ASCII),
            sig.getBytes(StandardCharsets.US_ASCII));
    }

    private String signature(Signed s) {
        String text = s.method() + "\n" + s.path() + "\n" + s.expiresMs() + "\n" + s.length() + "\n" + s.contentType()
            + "\n" + s.sha256();
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return B64.encodeToString(mac.doFinal(text.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
        }
    }

    /** Decodes one query-string value (for tests and the service). */
    public static String decode(String value) {
        return value == null ? null : URLDecoder.decode(value, StandardCharsets.UTF_8);
    }

    public static String base64Url(byte[] bytes) {
        return B64.encodeToString(bytes);
    }
}
