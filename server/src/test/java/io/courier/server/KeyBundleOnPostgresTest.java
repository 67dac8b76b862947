package io.courier.server;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@link KeyBundleTest} on PostgreSQL, where one-time pre-keys are taken with one
 * {@code DELETE … RETURNING}; each test has a schema of its own.
 */
class KeyBundleOnPostgresTest extends KeyBundleTest {

    @Override
    String[] overrides() {
        List<String> overrides = new ArrayList<>(List.of("storage.backend=postgres"));
        overrides.addAll(PostgresForTests.overrides("keys_" + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36)));
        return overrides.toArray(String[]::new);
    }
}
