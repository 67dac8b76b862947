package io.courier.server;

/** {@link KeyBundleTest} on the in-memory store, which keeps one-time pre-keys its own way. */
class KeyBundleOnMemoryStoreTest extends KeyBundleTest {

    @Override
    String[] overrides() {
        return new String[] {"storage.backend=memory"};
    }
}
