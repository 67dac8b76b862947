package io.courier.media.internal;

import io.courier.media.BlobStore;
import io.courier.media.BlobStoreContext;
import io.courier.media.BlobStoreProvider;
import io.courier.plugin.PluginOption;
import java.nio.file.Path;
import java.util.List;

/** The {@code filesystem} store: blobs under the data directory, served by the media service. */
public final class FilesystemBlobStoreProvider implements BlobStoreProvider {

    static final PluginOption DIRECTORY = PluginOption.text("directory",
        "where blobs are kept; default DATA_DIR/media");

    @Override
    public String name() {
        return "filesystem";
    }

    @Override
    public List<PluginOption> options() {
        return List.of(DIRECTORY);
    }

    @Override
    public BlobStore open(BlobStoreContext context) {
        String dir = DIRECTORY.valueIn(context.options());
        Path root = dir == null ? context.dataDirectory().resolve("media") : Path.of(dir);
        return new FilesystemBlobStore(root, context.clock());
    }
}
