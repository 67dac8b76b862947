package io.courier.router.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HmacKeyringTest {

    @TempDir
    Path dataDir;

    private Path keyDir() {
        return dataDir.resolve("auth-keys");
    }

    @Test
    void shouldCreateKey1ReadableByItsOwnerOnly() throws Exception {
        HmacKeyring.Prepared prepared = HmacKeyring.prepare(keyDir(), dataDir.resolve("auth.key"));
        assertThat(prepared.created()).isTrue();
        assertThat(prepared.imported()).isFalse();
        assertThat(prepared.keys().activeId()).isEqualTo(1);
        assertThat(Files.size(keyDir().resolve("1.key"))).isEqualTo(HmacKeyring.MIN_KEY_BYTES);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keyDir()))).isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keyDir().resolve("1.key"))))
            .isEqualTo("rw-------");
        assertThat(HmacKeyring.prepare(keyDir(), null).created()).as("the second start finds it").isFalse();
    }

    @Test
    void shouldMakeEachRotatedKeyTheActiveOneAndKeepTheOthers() {
        HmacKeyring.prepare(keyDir(), null);
        assertThat(HmacKeyring.rotate(keyDir())).isEqualTo(2);
        assertThat(HmacKeyring.rotate(keyDir())).isEqualTo(3);
        HmacKeyring keys = HmacKeyring.read(keyDir());
        assertThat(keys.activeId()).isEqualTo(3);
        assertThat(keys.keys()).extracting(HmacKeyring.KeyInfo::id).containsExactly(1, 2, 3);
        assertThat(keys.keys()).extracting(HmacKeyring.KeyInfo::active).containsExactly(false, false, true);
        assertThat(keys.secret(1).orElseThrow()).isNotEqualTo(keys.secret(2).orElseThrow());

        HmacKeyring.retire(keyDir(), 1);
        assertThat(HmacKeyring.read(keyDir()).keys()).extracting(HmacKeyring.KeyInfo::id).containsExactly(2, 3);
        assertThat(HmacKeyring.rotate(keyDir())).as("ids are not reused below the highest").isEqualTo(4);
    }

    @Test
    void shouldRefuseToRetireTheActiveKeyOrOneItDoesNotHold() {
        HmacKeyring.prepare(keyDir(), null);
        HmacKeyring.rotate(keyDir());
        assertThatThrownBy(() -> HmacKeyring.retire(keyDir(), 2)).isInstanceOf(IllegalArgumentException.class)
            .hasMessage("Key 2 is the active key, which signs new tokens: add a new one with 'courier-server key rotate' "
                + "first, then retire 2");
        assertThatThrownBy(() -> HmacKeyring.retire(keyDir(), 7)).isInstanceOf(IllegalArgumentException.class)
            .hasMessage("There is no key 7 in " + keyDir() + "; its keys: 1, 2");
        assertThat(HmacKeyring.read(keyDir()).keys()).hasSize(2);
    }

    @Test
    void shouldRefuseAKeyOthersMayReadOrThatIsTooShortNamingTheFile() throws Exception {
        HmacKeyring.prepare(keyDir(), null);
        Path key = keyDir().resolve("1.key");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(() -> HmacKeyring.read(keyDir())).isInstanceOf(IllegalArgumentException.class)
            .hasMessage("The HMAC key " + key + " may be read by others (rw-r--r--); make it its owner's alone: chmod 600 "
                + key);

        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        Files.write(key, new byte[16]);
        assertThatThrownBy(() -> HmacKeyring.read(keyDir())).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining(key.toString()).hasMessageContaining("holds 16 bytes; a key needs at least 32");
    }

    @Test
    void shouldMoveTheSecretOfAnOlderCourierInAsKey1() throws Exception {
        byte[] secret = new byte[32];
        secret[0] = 42;
        Path legacy = Files.write(dataDir.resolve("auth.key"), secret);
        HmacKeyring.Prepared prepared = HmacKeyring.prepare(keyDir(), legacy);
        assertThat(prepared.imported()).isTrue();
        assertThat(prepared.created()).isFalse();
        assertThat(prepared.keys().secret(1).orElseThrow()).isEqualTo(secret);
        assertThat(legacy).doesNotExist();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keyDir().resolve("1.key"))))
            .isEqualTo("rw-------");

        // Once there are keys, a secret file that turns up again is not taken in.
        Files.write(legacy, new byte[32]);
        assertThat(HmacKeyring.importLegacy(keyDir(), legacy)).isFalse();
        assertThat(HmacKeyring.read(keyDir()).secret(1).orElseThrow()).isEqualTo(secret);
    }

    @Test
    void shouldGiveEveryConcurrentRotationAnIdOfItsOwn() throws Exception {
        HmacKeyring.prepare(keyDir(), null);
        int rotations = 8;
        ExecutorService pool = Executors.newFixedThreadPool(rotations);
        Set<Integer> ids = ConcurrentHashMap.newKeySet();
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Boolean>> done = new java.util.ArrayList<>();
            for (int i = 0; i < rotations; i++) {
                done.add(pool.submit(() -> {
                    start.await();
                    return ids.add(HmacKeyring.rotate(keyDir()));
                }));
            }
            start.countDown();
            for (Future<Boolean> f : done) {
                assertThat(f.get(30, TimeUnit.SECONDS)).as("an id nobody else got").isTrue();
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(ids).hasSize(rotations);
        assertThat(HmacKeyring.read(keyDir()).keys()).hasSize(rotations + 1);
        try (var files = Files.list(keyDir())) {
            assertThat(files.map(p -> p.getFileName().toString())).allMatch(name -> name.matches("[0-9]+\\.key"));
        }
    }
}
