package io.courier.media.internal;

import io.courier.media.BlobStore;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.AsyncFile;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP side of the media service for stores it serves itself: PUT streams the body to a
 * staging file while hashing it, and only a complete body of the signed length and SHA-256 becomes
 * the blob; anything else (refused, cut off, wrong hash) leaves no file. GET serves the blob with
 * Range support. Every refusal is a status and one line of text saying why.
 */
public final class MediaHttp {

    private static final Logger LOG = LoggerFactory.getLogger(MediaHttp.class);
    /** {@code /media/USER/NAME}: a user id as the router accepts it, a 128-bit base64url name. */
    public static final Pattern PATH = Pattern.compile("/media/([A-Za-z0-9_-][A-Za-z0-9._-]{0,63})/([A-Za-z0-9_-]{22})");
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d*)-(\\d*)");

    private final Vertx vertx;
    private final UrlSigner signer;
    private final BlobStore.LocalBlobs blobs;
    private final Windows uploadBytes;
    private final Clock clock;

    public MediaHttp(Vertx vertx, UrlSigner signer, BlobStore.LocalBlobs blobs, Windows uploadBytes, Clock clock) {
        this.vertx = vertx;
        this.signer = signer;
        this.blobs = blobs;
        this.uploadBytes = uploadBytes;
        this.clock = clock;
    }

    public void handle(HttpServerRequest req) {
        HttpServerResponse resp = req.response();
        resp.putHeader("Access-Control-Allow-Origin", "*");
        resp.putHeader("Access-Control-Expose-Headers", "Content-Length, Content-Range, Accept-Ranges");
        resp.putHeader("X-Content-Type-Options", "nosniff");
        if (req.method() == HttpMethod.OPTIONS) {
            resp.putHeader("Access-Control-Allow-Methods", "GET, HEAD, PUT");
            resp.putHeader("Access-Control-Allow-Headers", "Range, Content-Type");
            resp.putHeader("Access-Control-Max-Age", "600");
            resp.setStatusCode(204).end();
            return;
        }
        boolean put = req.method() == HttpMethod.PUT;
        if (put) {
            req.pause(); // nothing is read until the URL is checked and the staging file open
        }
        Matcher m = PATH.matcher(req.path());
        if (!m.matches()) {
            refuse(req, 404, "No such media object: " + req.path());
            return;
        }
        String key = m.group(1) + "/" + m.group(2);
        Optional<UrlSigner.Signed> signed = check(req, put);
        if (signed.isEmpty()) {
            return;
        }
        if (put) {
            upload(req, key, signed.get());
        } else if (req.method() == HttpMethod.GET || req.method() == HttpMethod.HEAD) {
            download(req, key, signed.get());
        } else {
            refuse(req, 405, "Media URLs take GET, HEAD or PUT, not " + req.method());
        }
    }

    /** The signed fields when the URL's signature, method and expiry hold; else refused, and empty. */
    private Optional<UrlSigner.Signed> check(HttpServerRequest req, boolean put) {
        String exp = req.getParam("exp");
        String len = req.getParam("len");
        String type = req.getParam("type");
        String sha = req.getParam("sha", "");
        String sig = req.getParam("sig");
        long expMs;
        long length;
        try {
            expMs = Long.parseLong(exp);
            length = Long.parseLong(len);
        } catch (NumberFormatException | NullPointerException e) {
            refuse(req, 403, "Not a signed media URL: it needs exp, len, type and sig parameters");
            return Optional.empty();
        }
        if (type == null) {
            refuse(req, 403, "Not a signed media URL: it needs exp, len, type and sig parameters");
            return Optional.empty();
        }
        String method = put ? "PUT" : "GET";
        UrlSigner.Signed asUsed = new UrlSigner.Signed(method, req.path(), expMs, length, type, put ? sha : "");
        if (!signer.verifies(asUsed, sig)) {
            String other = put ? "GET" : "PUT";
            UrlSigner.Signed asOther = new UrlSigner.Signed(other, req.path(), expMs, length, type, put ? "" : sha);
            if (signer.verifies(asOther, sig)) {
                refuse(req, 403, "Wrong method: this URL is signed for " + other + " and cannot be used to "
                    + req.method());
            } else {
                refuse(req, 403, "Signature does not match: the URL was altered or was not made by this server");
            }
            return Optional.empty();
        }
        if (clock.millis() > expMs) {
            refuse(req, 403, "URL expired at " + Instant.ofEpochMilli(expMs) + "; request a new one");
            return Optional.empty();
        }
        return Optional.of(asUsed);
    }

    private void upload(HttpServerRequest req, String key, UrlSigner.Signed signed) {
        String type = req.getHeader("Content-Type");
        if (!signed.contentType().equals(type)) {
            refuse(req, 403, "Wrong content type: the request says " + (type == null ? "none" : "'" + type + "'")
                + ", the URL is signed for '" + signed.contentType() + "'");
            return;
        }
        String declared = req.getHeader("Content-Length");
        if (declared == null || !declared.equals(Long.toString(signed.length()))) {
            refuse(req, 403, "Wrong size: the request declares " + (declared == null ? "no Content-Length"
                : declared + " bytes") + ", the URL is signed for exactly " + signed.length() + " bytes");
            return;
        }
        String user = key.substring(0, key.indexOf('/'));
        long wait = uploadBytes.take(user, signed.length());
        if (wait > 0) {
            refuse(req, 413, "Over quota: user '" + user + "' may upload " + uploadBytes.limit()
                + " bytes per hour (media.upload-bytes-per-hour); try again in " + (wait + 999) / 1000 + " s");
            return;
        }
        byte[] expected;
        try {
            expected = Base64.getUrlDecoder().decode(signed.sha256());
        } catch (IllegalArgumentException e) {
            expected = new byte[0];
        }
        byte[] wanted = expected;
        vertx.executeBlocking(() -> {
            if (blobs.file(key).isPresent()) {
                return null;
            }
            return blobs.stage(key);
        }, false).onComplete(staged -> {
            if (staged.failed()) {
                uploadBytes.giveBack(user, signed.length());
                LOG.error("Cannot stage an upload of {}", key, staged.cause());
                refuse(req, 500, "The media service cannot store uploads now");
                return;
            }
            if (staged.result() == null) {
                uploadBytes.giveBack(user, signed.length());
                refuse(req, 409, "Already uploaded: upload URLs are single-use; request a new slot");
                return;
            }
            Path file = staged.result();
            vertx.fileSystem().open(file.toString(), new OpenOptions().setWrite(true).setCreate(false))
                .onFailure(e -> {
                    uploadBytes.giveBack(user, signed.length());
                    deleteStaged(file);
                    LOG.error("Cannot open staging file {}", file, e);
                    refuse(req, 500, "The media service cannot store uploads now");
                })
                .onSuccess(out -> new Upload(req, key, user, signed, wanted, file, out).start());
        });
    }

    /** One PUT in flight, from the first byte to a stored blob or to nothing left behind. */
    private final class Upload {
        private final HttpServerRequest req;
        private final String key;
        private final String user;
        private final UrlSigner.Signed signed;
        private final byte[] expectedSha;
        private final Path file;
        private final AsyncFile out;
        private final MessageDigest digest;
        private final AtomicBoolean finished = new AtomicBoolean();
        private long received;

        Upload(HttpServerRequest req, String key, String user, UrlSigner.Signed signed, byte[] expectedSha, Path file,
               AsyncFile out) {
            this.req = req;
            this.key = key;
            this.user = user;
            this.signed = signed;
            this.expectedSha = expectedSha;
            this.file = file;
            this.out = out;
            try {
                this.digest = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 is not available in this JVM", e);
            }
        }

        void start() {
            req.handler(this::chunk);
            req.endHandler(v -> end());
            req.exceptionHandler(e -> abandon("the upload broke off: " + e.getMessage()));
            req.response().closeHandler(v -> abandon("the connection closed before the upload was complete"));
            req.resume();
        }

        private void chunk(Buffer buf) {
            if (finished.get()) {
                return;
            }
            received += buf.length();
            if (received > signed.length()) {
                fail(403, "Wrong size: the body is longer than the " + signed.length() + " bytes the URL is signed for");
                return;
            }
            digest.update(buf.getBytes());
            out.write(buf);
            if (out.writeQueueFull()) {
                req.pause();
                out.drainHandler(v -> req.resume());
            }
        }

        private void end() {
            if (finished.get()) {
                return;
            }
            if (received != signed.length()) {
                fail(403, "Wrong size: the body has " + received + " bytes, the URL is signed for " + signed.length());
                return;
            }
            byte[] actual = digest.digest();
            if (!Arrays.equals(actual, expectedSha)) {
                fail(400, "SHA-256 mismatch: the body's SHA-256 is " + UrlSigner.base64Url(actual)
                    + ", the slot's " + signed.sha256() + "; nothing was stored");
                return;
            }
            out.close().compose(v -> vertx.executeBlocking(() -> blobs.commit(file, key), false)).onComplete(done -> {
                if (!finished.compareAndSet(false, true)) {
                    return;
                }
                if (done.failed()) {
                    uploadBytes.giveBack(user, signed.length());
                    deleteStaged(file);
                    LOG.error("Cannot store the upload of {}", key, done.cause());
                    refuse(req, 500, "The media service could not store the upload");
                } else if (!done.result()) {
                    uploadBytes.giveBack(user, signed.length());
                    refuse(req, 409, "Already uploaded: upload URLs are single-use; request a new slot");
                } else {
                    LOG.debug("Stored {} ({} bytes)", key, received);
                    req.response().setStatusCode(201).end();
                }
            });
        }

        private void fail(int status, String why) {
            if (!finished.compareAndSet(false, true)) {
                return;
            }
            uploadBytes.giveBack(user, signed.length());
            req.response().putHeader("Connection", "close");
            // Answered once the staging file is gone: a refused upload leaves nothing behind.
            out.close().eventually(() -> deleteStaged(file)).onComplete(v -> refuse(req, status, why));
        }

        private void abandon(String why) {
            if (!finished.compareAndSet(false, true)) {
                return;
            }
            LOG.info("Upload of {} abandoned after {} of {} bytes: {}; nothing kept", key, received, signed.length(), why);
            uploadBytes.giveBack(user, signed.length());
            out.close().onComplete(v -> deleteStaged(file));
        }
    }

    private io.vertx.core.Future<Void> deleteStaged(Path file) {
        return vertx.fileSystem().delete(file.toString()).recover(e -> {
            if (file.toFile().exists()) {
                LOG.warn("Cannot delete staging file {} (cleanup will): {}", file, e.toString());
            }
            return io.vertx.core.Future.succeededFuture();
        });
    }

    private void download(HttpServerRequest req, String key, UrlSigner.Signed signed) {
        vertx.executeBlocking(() -> blobs.file(key).map(p -> new Object[] {p, p.toFile().length()}), false)
            .onComplete(found -> {
                if (found.failed()) {
                    LOG.error("Cannot read {}", key, found.cause());
                    refuse(req, 500, "The media service cannot read blobs now");
                    return;
                }
                if (found.result().isEmpty()) {
                    refuse(req, 404, "No such media object (not uploaded yet, or removed)");
                    return;
                }
                Path file = (Path) found.result().get()[0];
                long size = (Long) found.result().get()[1];
                HttpServerResponse resp = req.response();
                resp.putHeader("Content-Type", signed.contentType());
                resp.putHeader("Accept-Ranges", "bytes");
                long offset = 0;
                long length = size;
                String range = req.getHeader("Range");
                if (range != null) {
                    Matcher r = RANGE.matcher(range.trim());
                    long first;
                    long last;
                    if (!r.matches() || (r.group(1).isEmpty() && r.group(2).isEmpty())) {
                        resp.putHeader("Content-Range", "bytes */" + size);
                        refuse(req, 416, "Range '" + range + "' is not one byte range (bytes=FIRST-LAST)");
                        return;
                    }
                    if (r.group(1).isEmpty()) {
                        first = Math.max(0, size - Long.parseLong(r.group(2)));
                        last = size - 1;
                    } else {
                        first = Long.parseLong(r.group(1));
                        last = r.group(2).isEmpty() ? size - 1 : Math.min(size - 1, Long.parseLong(r.group(2)));
                    }
                    if (first >= size || last < first) {
                        resp.putHeader("Content-Range", "bytes */" + size);
                        refuse(req, 416, "Range '" + range + "' is outside the object's " + size + " bytes");
                        return;
                    }
                    offset = first;
                    length = last - first + 1;
                    resp.setStatusCode(206);
                    resp.putHeader("Content-Range", "bytes " + first + "-" + last + "/" + size);
                }
                if (req.method() == HttpMethod.HEAD) {
                    resp.putHeader("Content-Length", Long.toString(length)).end();
                } else {
                    resp.sendFile(file.toString(), offset, length);
                }
            });
    }

    private static void refuse(HttpServerRequest req, int status, String why) {
        LOG.info("Media {} {} refused {}: {}", req.method(), req.path(), status, why);
        HttpServerResponse resp = req.response();
        if (resp.ended() || resp.closed()) {
            return;
        }
        // A refused body is not kept: a small one is read and dropped so the connection stays usable, a
        // large one (or one still arriving after a refusal mid-body) ends the connection instead.
        boolean unread = req.method() == HttpMethod.PUT && !req.isEnded();
        boolean drop = unread && !"close".equals(resp.headers().get("Connection"))
            && declaredLength(req) <= DISCARD_LIMIT;
        if (unread && !drop) {
            resp.putHeader("Connection", "close");
        }
        resp.setStatusCode(status).putHeader("Content-Type", "text/plain; charset=utf-8").end(why + "\n")
            .onComplete(v -> {
                if (unread && !drop) {
                    req.connection().close();
                }
            });
        if (drop) {
            req.handler(ignored -> { });
            req.exceptionHandler(ignored -> { });
            req.resume();
        }
    }

    private static final long DISCARD_LIMIT = 1 << 20;

    private static long declaredLength(HttpServerRequest req) {
        try {
            return Long.parseLong(req.getHeader("Content-Length"));
        } catch (NumberFormatException | NullPointerException e) {
            return Long.MAX_VALUE;
        }
    }
}
