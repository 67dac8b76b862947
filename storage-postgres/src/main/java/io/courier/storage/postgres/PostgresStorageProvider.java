package io.courier.storage.postgres;

import io.courier.plugin.PluginOption;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.StorageException;
import io.courier.storage.StorageProvider;
import io.courier.storage.postgres.internal.PostgresBackend;
import java.util.List;

/**
 * The {@code postgres} backend: PostgreSQL over JDBC with a HikariCP pool, for deployments that
 * outgrow one machine's disk or want a shared, managed database. The schema is created and
 * migrated at start-up (versioned scripts, each applied once).
 *
 * <p>Options ({@code storage.options.*}), declared in {@link #options()} with their defaults:
 * {@code url}, {@code user}, {@code password}, {@code schema} (created if absent),
 * {@code pool-size}, {@code connect-timeout-ms}.
 */
public final class PostgresStorageProvider implements StorageProvider {

    /** The name configuration selects it by. */
    public static final String NAME = "postgres";

    /** The database. */
    public static final PluginOption URL = PluginOption.text("url", "jdbc:postgresql://127.0.0.1:5432/courier",
        "the database");
    /** Login. */
    public static final PluginOption USER = PluginOption.text("user", "courier", "login");
    /** Password. */
    public static final PluginOption PASSWORD = PluginOption.text("password", "courier", "password");
    /** Schema. */
    public static final PluginOption SCHEMA = PluginOption.text("schema", "public",
        "created if absent; migrations are recorded in `courier_schema_version`");
    /** Pool size. */
    public static final PluginOption POOL_SIZE = PluginOption.positiveInt("pool-size", 8, "pooled connections");
    /** Connect timeout. */
    public static final PluginOption CONNECT_TIMEOUT_MS = PluginOption.positiveInt("connect-timeout-ms", 5000,
        "how long start-up waits for the database");

    private static final List<PluginOption> OPTIONS =
        List.of(URL, USER, PASSWORD, SCHEMA, POOL_SIZE, CONNECT_TIMEOUT_MS);

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<PluginOption> options() {
        return OPTIONS;
    }

    @Override
    public StorageBackend open(StorageConfig config) {
        String url = config.textOption(URL, null);
        if (!url.startsWith("jdbc:postgresql://")) {
            throw new StorageException("storage.options.url must be a jdbc:postgresql:// URL, was '" + url + "'");
        }
        String schema = config.textOption(SCHEMA, null);
        if (!schema.matches("[a-z_][a-z0-9_]{0,62}")) {
            throw new StorageException("storage.options.schema must be a lower-case SQL identifier, was '" + schema + "'");
        }
        return PostgresBackend.open(url, config.textOption(USER, null), config.textOption(PASSWORD, null),
            schema, config.intOption(POOL_SIZE), config.intOption(CONNECT_TIMEOUT_MS));
    }
}
