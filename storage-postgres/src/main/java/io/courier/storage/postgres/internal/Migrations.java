package io.courier.storage.postgres.internal;

import io.courier.storage.StorageException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Versioned schema migrations: {@code migrations/V<n>__<name>.sql} on the class path, applied in
 * order, each once, each in its own transaction, recorded in {@code courier_schema_version}. A
 * transaction-scoped advisory lock keeps two servers starting at once from racing.
 */
final class Migrations {

    private static final Logger LOG = LoggerFactory.getLogger(Migrations.class);
    /** Add a new script here and on the class path; never edit one that shipped. */
    static final List<String> SCRIPTS = List.of("V1__schema.sql", "V2__retention.sql", "V3__token_revocations.sql",
        "V4__presence_privacy.sql", "V5__one_time_pre_keys.sql", "V6__server_id_sequence.sql");
    private static final long LOCK_KEY = 0x436f7572696572L; // "Courier"

    private Migrations() {
    }

    static void migrate(Connection connection, String schema) throws SQLException {
        connection.setAutoCommit(false);
        try (Statement st = connection.createStatement()) {
            st.execute("SELECT pg_advisory_xact_lock(" + LOCK_KEY + ")");
            st.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
            st.execute("SET LOCAL search_path TO " + schema);
            st.execute("CREATE TABLE IF NOT EXISTS courier_schema_version (version integer PRIMARY KEY, "
                + "script text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
            int current = 0;
            try (ResultSet rs = st.executeQuery("SELECT coalesce(max(version), 0) FROM courier_schema_version")) {
                rs.next();
                current = rs.getInt(1);
            }
            for (int version = current + 1; version <= SCRIPTS.size(); version++) {
                String script = SCRIPTS.get(version - 1);
                st.execute(read(script));
                st.execute("INSERT INTO courier_schema_version (version, script) VALUES (" + version + ", '" + script + "')");
                LOG.info("Applied PostgreSQL migration {} to schema {}", script, schema);
            }
            if (current > SCRIPTS.size()) {
                throw new StorageException("The PostgreSQL schema '" + schema + "' is at version " + current
                    + ", newer than this Courier knows (" + SCRIPTS.size() + "); upgrade Courier");
            }
            connection.commit();
        } catch (SQLException | RuntimeException e) {
            connection.rollback();
            throw e;
        } finally {
            connection.setAutoCommit(true);
        }
    }

    private static String read(String script) {
        try (InputStream in = Migrations.class.getResourceAsStream("/io/courier/storage/postgres/migrations/" + script)) {
            if (in == null) {
                throw new IllegalStateException("Migration " + script + " is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot read migration " + script, e);
        }
    }
}
