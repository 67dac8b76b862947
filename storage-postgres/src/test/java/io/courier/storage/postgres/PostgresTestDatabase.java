package io.courier.storage.postgres;

import java.nio.file.Path;
import java.util.Map;

/** Where the test PostgreSQL is: the variables {@code .ci/postgres.sh} prints. */
final class PostgresTestDatabase {

    private PostgresTestDatabase() {
    }

    static Map<String, String> options(Path directory) {
        String url = System.getenv("COURIER_PG_URL");
        if (url == null || url.isBlank()) {
            throw new IllegalStateException("COURIER_PG_URL is not set: run the tests with ./test.sh, which starts "
                + "PostgreSQL (or eval \"$(bash .ci/postgres.sh)\" first)");
        }
        // The same directory (a test's temporary one) always maps to the same schema, so a close and
        // reopen sees its data; different directories never share one.
        String schema = "tck_" + java.util.UUID.nameUUIDFromBytes(directory.toString().getBytes(
            java.nio.charset.StandardCharsets.UTF_8)).toString().replace("-", "");
        return Map.of("url", url,
            "user", System.getenv().getOrDefault("COURIER_PG_USER", "courier"),
            "password", System.getenv().getOrDefault("COURIER_PG_PASSWORD", "courier"),
            "schema", schema.toLowerCase(java.util.Locale.ROOT));
    }
}
