package io.courier.media;

import io.courier.plugin.PluginOption;
import java.util.List;

/**
 * A blob-store plug-in, found with {@link java.util.ServiceLoader} by {@link #name()} (the
 * {@code media.store} setting). The options it declares are the {@code media.options.*} keys; the
 * server checks each against its declaration before {@link #open} is called.
 */
public interface BlobStoreProvider {

    /** The name {@code media.store} selects, e.g. {@code filesystem} or {@code s3}. */
    String name();

    /** The options this store accepts, with their types and defaults. */
    List<PluginOption> options();

    /**
     * Opens the store.
     *
     * @throws IllegalArgumentException naming the option when an option's value cannot be used.
     */
    BlobStore open(BlobStoreContext context);
}
