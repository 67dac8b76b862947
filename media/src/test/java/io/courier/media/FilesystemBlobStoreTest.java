package io.courier.media;

import io.courier.media.internal.FilesystemBlobStoreProvider;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/** The filesystem store passes the compatibility kit. */
class FilesystemBlobStoreTest extends BlobStoreCompatibilityKit {

    @Override
    protected BlobStore open(Path dataDir, Clock clock) {
        return new FilesystemBlobStoreProvider().open(new BlobStoreContext(dataDir, Map.of(), clock));
    }
}
