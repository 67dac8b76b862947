package io.courier.media.s3.internal;

import io.courier.media.BlobStore;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;
import software.amazon.awssdk.services.s3.presigner.model.PresignedGetObjectRequest;
import software.amazon.awssdk.services.s3.presigner.model.PresignedPutObjectRequest;

/**
 * Blobs in an S3 bucket. Upload URLs are presigned for the key, the content type, the length and
 * the SHA-256 checksum header (S3 rejects a body whose SHA-256 differs); download URLs for GET of
 * the key. Both expire as the slot says (S3 allows at most seven days).
 */
public final class S3BlobStore implements BlobStore {

    /** At most what SigV4 presigning allows. */
    private static final Duration MAX_PRESIGN = Duration.ofDays(7);

    /** What the provider read from {@code media.options.*}. */
    public record Settings(String bucket, String region, URI endpoint, boolean pathStyle, String accessKeyId,
                           String secretAccessKey) {
    }

    private final Settings settings;
    private final Clock clock;
    private final S3Client s3;
    private final S3Presigner presigner;

    public S3BlobStore(Settings settings, Clock clock) {
        this.settings = settings;
        this.clock = clock;
        AwsCredentialsProvider credentials = settings.accessKeyId() == null ? DefaultCredentialsProvider.builder().build()
            : StaticCredentialsProvider.create(AwsBasicCredentials.create(settings.accessKeyId(),
                settings.secretAccessKey()));
        S3Configuration s3Config = S3Configuration.builder().pathStyleAccessEnabled(settings.pathStyle()).build();
        Region region = Region.of(settings.region());
        var client = S3Client.builder().region(region).credentialsProvider(credentials)
            .serviceConfiguration(s3Config).httpClientBuilder(UrlConnectionHttpClient.builder());
        var presign = S3Presigner.builder().region(region).credentialsProvider(credentials)
            .serviceConfiguration(s3Config);
        if (settings.endpoint() != null) {
            client.endpointOverride(settings.endpoint());
            presign.endpointOverride(settings.endpoint());
        }
        this.s3 = client.build();
        this.presigner = presign.build();
    }

    @Override
    public String name() {
        return "s3";
    }

    @Override
    public Optional<SlotUrls> presign(Slot slot) {
        Duration forUpload = clamp(Duration.between(clock.instant(), slot.uploadExpires()));
        Duration forDownload = clamp(Duration.between(clock.instant(), slot.downloadExpires()));
        String checksum = Base64.getEncoder().encodeToString(slot.sha256());
        PresignedPutObjectRequest put = presigner.presignPutObject(p -> p.signatureDuration(forUpload)
            .putObjectRequest(o -> o.bucket(settings.bucket()).key(slot.key()).contentType(slot.contentType())
                .contentLength(slot.sizeBytes()).checksumSHA256(checksum)));
        PresignedGetObjectRequest get = presigner.presignGetObject(p -> p.signatureDuration(forDownload)
            .getObjectRequest(o -> o.bucket(settings.bucket()).key(slot.key())));
        Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        put.signedHeaders().forEach((name, values) -> {
            // Host and Content-Length are set by every HTTP client from the URL and the body.
            if (!name.equalsIgnoreCase("host") && !name.equalsIgnoreCase("content-length")) {
                headers.put(canonical(name), String.join(",", values));
            }
        });
        return Optional.of(new SlotUrls(uri(put.url()), headers, uri(get.url())));
    }

    private static String canonical(String header) {
        return switch (header.toLowerCase(java.util.Locale.ROOT)) {
            case "content-type" -> "Content-Type";
            default -> header;
        };
    }

    private static URI uri(java.net.URL url) {
        try {
            return url.toURI();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException("S3Presigner made an unparsable URL " + url, e);
        }
    }

    private static Duration clamp(Duration d) {
        if (d.compareTo(MAX_PRESIGN) > 0) {
            return MAX_PRESIGN;
        }
        return d.isNegative() || d.isZero() ? Duration.ofSeconds(1) : d;
    }

    @Override
    public Optional<LocalBlobs> local() {
        return Optional.empty();
    }

    @Override
    public Optional<String> keyOf(URI url) {
        if (url.getHost() == null || url.getRawPath() == null) {
            return Optional.empty();
        }
        URI endpoint = settings.endpoint();
        String path = url.getPath();
        if (endpoint != null && url.getHost().equalsIgnoreCase(endpoint.getHost()) && url.getPort() == endpoint.getPort()
            && path.startsWith("/" + settings.bucket() + "/")) {
            return Optional.of(path.substring(settings.bucket().length() + 2));
        }
        if (url.getHost().toLowerCase(java.util.Locale.ROOT).startsWith(settings.bucket() + ".") && path.length() > 1) {
            return Optional.of(path.substring(1));
        }
        return Optional.empty();
    }

    @Override
    public Optional<StoredBlob> stat(String key) {
        try {
            HeadObjectResponse head = s3.headObject(h -> h.bucket(settings.bucket()).key(key));
            return Optional.of(new StoredBlob(key, head.contentLength(), head.lastModified()));
        } catch (NoSuchKeyException gone) {
            return Optional.empty();
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw e;
        }
    }

    @Override
    public List<StoredBlob> list() {
        List<StoredBlob> out = new ArrayList<>();
        for (S3Object o : s3.listObjectsV2Paginator(l -> l.bucket(settings.bucket())).contents()) {
            out.add(new StoredBlob(o.key(), o.size(), o.lastModified()));
        }
        return out;
    }

    @Override
    public void delete(String key) {
        s3.deleteObject(d -> d.bucket(settings.bucket()).key(key));
    }

    @Override
    public void close() {
        presigner.close();
        s3.close();
    }
}
