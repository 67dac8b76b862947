package io.courier.storage.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link CompactRecords} against a plain map that does the same by brute force: random puts,
 * replacements, removals and expiries over few keys (so slots collide, probe chains shift back
 * and replaced records die), with chunks small enough to roll over and be released.
 */
class CompactRecordsTest {

    private record Kept(long atMs, byte[] value) {
    }

    @Test
    void shouldAgreeWithAMapThroughRandomPutsRemovalsAndExpiries() {
        for (int seed = 1; seed <= 20; seed++) {
            Random random = new Random(seed);
            CompactRecords records = new CompactRecords(256);
            Map<String, Kept> model = new HashMap<>();
            long now = 0;
            for (int op = 0; op < 5_000; op++) {
                String key = "k" + random.nextInt(300);
                int what = random.nextInt(10);
                if (what < 6) {
                    // Unique times, so "oldest first" has one answer for the model to check.
                    long atMs = (now + random.nextInt(50)) * 10_000 + op;
                    byte[] value = new byte[random.nextInt(40)];
                    random.nextBytes(value);
                    records.put(bytes(key), atMs, value);
                    model.put(key, new Kept(atMs, value));
                } else if (what < 8) {
                    assertThat(records.remove(bytes(key))).isEqualTo(model.remove(key) != null);
                } else {
                    now += random.nextInt(20);
                    int limit = 1 + random.nextInt(30);
                    assertThat(records.expire(now * 10_000, limit)).isEqualTo(expire(model, now * 10_000, limit));
                }
                if (op % 97 == 0) {
                    assertSame(records, model);
                }
            }
            assertSame(records, model);
            records.expire(Long.MAX_VALUE, Integer.MAX_VALUE);
            assertThat(records.size()).isZero();
            assertThat(records.chunkBytes()).as("only the chunk being appended to is left").isLessThanOrEqualTo(256);
        }
    }

    @Test
    void shouldKeepARecordLargerThanAChunkInAChunkOfItsOwn() {
        CompactRecords records = new CompactRecords(64);
        byte[] big = new byte[1_000];
        big[999] = 7;
        records.put(bytes("big"), 5, big);
        records.put(bytes("small"), 6, new byte[] {1});
        assertThat(records.valueAt(records.get(bytes("big")))).isEqualTo(big);
        assertThat(records.timeAt(records.get(bytes("small")))).isEqualTo(6);
        assertThat(records.expire(6, 10)).isEqualTo(1);
        assertThat(records.get(bytes("big"))).isEqualTo(-1);
    }

    @Test
    void shouldExpireOnlyWhatIsDueOldestFirstAndNotReplacedRecordsTwice() {
        CompactRecords records = new CompactRecords();
        records.put(bytes("a"), 30, new byte[] {1});
        records.put(bytes("b"), 10, new byte[] {2});
        records.put(bytes("c"), 20, new byte[] {3});
        records.put(bytes("b"), 40, new byte[] {4});
        assertThat(records.expire(35, 1)).isEqualTo(1);
        assertThat(records.get(bytes("c"))).isEqualTo(-1);
        assertThat(records.expire(35, 10)).isEqualTo(1);
        assertThat(records.get(bytes("a"))).isEqualTo(-1);
        assertThat(records.valueAt(records.get(bytes("b")))).containsExactly(4);
        assertThat(records.size()).isEqualTo(1);
    }

    /** What the model expires: up to limit of the oldest records before now. */
    private static int expire(Map<String, Kept> model, long beforeMs, int limit) {
        List<Map.Entry<String, Kept>> due = new ArrayList<>();
        for (Map.Entry<String, Kept> e : model.entrySet()) {
            if (e.getValue().atMs() < beforeMs) {
                due.add(e);
            }
        }
        due.sort((x, y) -> Long.compare(x.getValue().atMs(), y.getValue().atMs()));
        int n = Math.min(limit, due.size());
        for (int i = 0; i < n; i++) {
            model.remove(due.get(i).getKey());
        }
        return n;
    }

    private static void assertSame(CompactRecords records, Map<String, Kept> model) {
        assertThat(records.size()).isEqualTo(model.size());
        for (Map.Entry<String, Kept> e : model.entrySet()) {
            long address = records.get(bytes(e.getKey()));
            assertThat(address).as(e.getKey()).isNotNegative();
            assertThat(records.timeAt(address)).isEqualTo(e.getValue().atMs());
            assertThat(records.valueAt(address)).isEqualTo(e.getValue().value());
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
