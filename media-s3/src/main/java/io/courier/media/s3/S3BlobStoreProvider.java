package io.courier.media.s3;

import io.courier.media.BlobStore;
import io.courier.media.BlobStoreContext;
import io.courier.media.BlobStoreProvider;
import io.courier.media.s3.internal.S3BlobStore;
import io.courier.plugin.PluginOption;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;

/**
 * The {@code s3} blob store: blobs in an S3 bucket, with upload and download URLs presigned by the
 * AWS SDK's {@code S3Presigner}, so clients talk to S3 directly and the server never handles the
 * bytes. Works with any S3-compatible service given its endpoint.
 */
public final class S3BlobStoreProvider implements BlobStoreProvider {

    static final PluginOption BUCKET = PluginOption.text("bucket", "the bucket blobs go to; must be set");
    static final PluginOption REGION = PluginOption.text("region", "us-east-1", "the bucket's region");
    static final PluginOption ENDPOINT = PluginOption.text("endpoint",
        "the S3 endpoint URL, e.g. https://s3.eu-west-1.amazonaws.com or a compatible service's; default AWS's for the region");
    static final PluginOption PATH_STYLE = PluginOption.flag("path-style", false,
        "address the bucket in the path (ENDPOINT/BUCKET/KEY) instead of the host name; most S3-compatible services need it");
    static final PluginOption ACCESS_KEY_ID = PluginOption.text("access-key-id",
        "the access key; default the AWS SDK's default credentials (environment, profile, instance role)");
    static final PluginOption SECRET_ACCESS_KEY = PluginOption.text("secret-access-key",
        "the secret for access-key-id; set both or neither");

    @Override
    public String name() {
        return "s3";
    }

    @Override
    public List<PluginOption> options() {
        return List.of(BUCKET, REGION, ENDPOINT, PATH_STYLE, ACCESS_KEY_ID, SECRET_ACCESS_KEY);
    }

    @Override
    public BlobStore open(BlobStoreContext context) {
        String bucket = BUCKET.valueIn(context.options());
        if (bucket == null || bucket.isBlank()) {
            throw new IllegalArgumentException("media.options.bucket must be set: the bucket blobs go to");
        }
        String endpointText = ENDPOINT.valueIn(context.options());
        URI endpoint = null;
        if (endpointText != null) {
            try {
                endpoint = new URI(endpointText);
            } catch (URISyntaxException e) {
                endpoint = null;
            }
            if (endpoint == null || endpoint.getScheme() == null || !endpoint.getScheme().matches("https?")
                || endpoint.getHost() == null) {
                throw new IllegalArgumentException("media.options.endpoint must be an http or https URL, was '"
                    + endpointText + "'");
            }
        }
        String keyId = ACCESS_KEY_ID.valueIn(context.options());
        String secret = SECRET_ACCESS_KEY.valueIn(context.options());
        if ((keyId == null) != (secret == null)) {
            throw new IllegalArgumentException("media.options.access-key-id and media.options.secret-access-key go "
                + "together: set both, or neither to use the AWS SDK's default credentials");
        }
        return new S3BlobStore(new S3BlobStore.Settings(bucket, REGION.valueIn(context.options()), endpoint,
            PATH_STYLE.booleanIn(context.options()), keyId, secret), context.clock());
    }
}
