package io.courier.storage.postgres;

import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.StorageException;
import io.courier.storage.StorageProvider;
import io.courier.storage.postgres.internal.PostgresBackend;

/**
 * The {@code postgres} backend: PostgreSQL over JDBC with a HikariCP pool, for deployments that
 * outgrow one machine's disk or want a shared, managed database. The schema is created and
 * migrated at start-up (versioned scripts, each applied once).
 *
 * <p>Options ({@code storage.options.*}): {@code url} (default
 * {@code jdbc:postgresql://127.0.0.1:5432/courier}), {@code user} and {@code password} (default
 * {@code courier}), {@code schema} (default {@code public}; created if absent), {@code pool-size}
 * (default 8), {@code connect-timeout-ms} (default 5000).
 */
public final class PostgresStorageProvider implements StorageProvider {

    /** The name configuration selects it by. */
    public static final String NAME = "postgres";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public StorageBackend open(StorageConfig config) {
        String url = config.option("url", "jdbc:postgresql://127.0.0.1:5432/courier");
        if (!url.startsWith("jdbc:postgresql://")) {
            throw new StorageException("storage.options.url must be a jdbc:postgresql:// URL, was '" + url + "'");
        }
        String schema = config.option("schema", "public");
        if (!schema.matches("[a-z_][a-z0-9_]{0,62}")) {
            throw new StorageException("storage.options.schema must be a lower-case SQL identifier, was '" + schema + "'");
        }
        return PostgresBackend.open(url, config.option("user", "courier"), config.option("password", "courier"),
            schema, config.positiveIntOption("pool-size", 8), config.positiveIntOption("connect-timeout-ms", 5000));
    }
}
