package io.courier.storage.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.storage.AcceptedSend;
import io.courier.storage.DeviceId;
import io.courier.storage.InboxEntry;
import io.courier.storage.RetentionPolicy;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A schema at version 1 (written before retention) is migrated to version 2 at open: entries it
 * had delivered take their acceptance time as their delivery time, and old records then expire.
 */
class RetentionMigrationTest {

    private static final long T0 = 1_700_000_000_000L;

    @TempDir
    Path directory;

    @Test
    void shouldMigrateAVersionOneSchemaSoItsRecordsExpire() throws Exception {
        Map<String, String> options = PostgresTestDatabase.options(directory);
        String schema = options.get("schema");
        try (Connection c = DriverManager.getConnection(options.get("url"), options.get("user"), options.get("password"));
             Statement st = c.createStatement()) {
            st.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
            st.execute("CREATE SCHEMA " + schema);
            st.execute("SET search_path TO " + schema);
            st.execute(resource("V1__schema.sql"));
            st.execute("CREATE TABLE courier_schema_version (version integer PRIMARY KEY, script text NOT NULL, "
                + "applied_at timestamptz NOT NULL DEFAULT now())");
            st.execute("INSERT INTO courier_schema_version (version, script) VALUES (1, 'V1__schema.sql')");
            // As version 1 wrote them: one delivered entry (no delivery time), one pending, one send.
            st.execute("INSERT INTO inbox VALUES ('bob', '1', 1, 1, 0, 'alice', '1', 'bob', 'c-1', 0, " + T0
                + ", 'text/plain', ''::bytea, ''::bytea), ('bob', '1', 2, 0, 0, 'alice', '1', 'bob', 'c-2', 0, " + T0
                + ", 'text/plain', '\\x01'::bytea, ''::bytea)");
            st.execute("INSERT INTO sends VALUES ('alice', '1', 'c-1', 1, " + T0 + ")");
            // A key bundle as version 1 wrote it: no X25519 identity key, no signed pre-key id.
            st.execute("INSERT INTO key_bundles VALUES ('alice', '1', '\\x0a'::bytea, '\\x0b'::bytea, '\\x0c'::bytea)");
            st.execute("UPDATE counters SET value = 2 WHERE name = 'highest_server_id'");
        }

        RetentionPolicy policy = RetentionPolicy.defaults();
        DeviceId bob = DeviceId.primary("bob");
        try (StorageBackend backend = new PostgresStorageProvider().open(new StorageConfig(directory, options))) {
            assertThat(version(options)).as("migrated to the latest version").isEqualTo(6);
            assertThat(backend.messages().entry(bob, 1)).get().extracting(InboxEntry::state)
                .isEqualTo(InboxEntry.State.DELIVERED);
            assertThat(backend.messages().acceptedSend(DeviceId.primary("alice"), "c-1")).contains(new AcceptedSend(1, T0));
            io.courier.storage.KeyBundle old = backend.keys().bundles("alice").get("1");
            assertThat(old.identityKey()).containsExactly(0x0a);
            assertThat(old.identityDhKey()).isEmpty();
            assertThat(old.signedPreKeyId()).isZero();
            assertThat(backend.keys().oneTimePreKeyCount(DeviceId.primary("alice"))).isZero();

            long justBefore = T0 + policy.deliveredRetention().toMillis() - 1;
            assertThat(policy.expire(backend.messages(), justBefore)).isEqualTo(new RetentionPolicy.Expired(1, 0, 2));
            assertThat(backend.messages().entry(bob, 1)).isPresent();
            assertThat(policy.expire(backend.messages(), justBefore + 1).delivered()).isEqualTo(1);

            assertThat(backend.messages().entry(bob, 1)).isEmpty();
            assertThat(backend.messages().pendingCount(bob)).isEqualTo(1);
            assertThat(backend.messages().highestServerId()).isEqualTo(2);
            assertThat(backend.messages().beginBatch(java.util.List.of(bob), 1)).as("the id sequence starts above the"
                + " counter").containsExactly(3L);
            backend.messages().abortBatch();
        }
    }

    private static int version(Map<String, String> options) throws Exception {
        try (Connection c = DriverManager.getConnection(options.get("url"), options.get("user"), options.get("password"));
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT max(version) FROM " + options.get("schema") + ".courier_schema_version")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static String resource(String script) throws Exception {
        try (InputStream in = RetentionMigrationTest.class.getResourceAsStream(
            "/io/courier/storage/postgres/migrations/" + script)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
