package io.courier.server;

import java.util.List;

/** The test PostgreSQL that ./test.sh starts, as server configuration overrides. */
final class PostgresForTests {

    private PostgresForTests() {
    }

    static List<String> overrides(String schema) {
        String url = System.getenv("COURIER_PG_URL");
        if (url == null || url.isBlank()) {
            throw new IllegalStateException("COURIER_PG_URL is not set: run the tests with ./test.sh, which starts "
                + "PostgreSQL (or eval \"$(bash .ci/postgres.sh)\" first)");
        }
        return List.of("storage.options.url=" + url,
            "storage.options.user=" + System.getenv().getOrDefault("COURIER_PG_USER", "courier"),
            "storage.options.password=" + System.getenv().getOrDefault("COURIER_PG_PASSWORD", "courier"),
            "storage.options.schema=" + schema);
    }
}
