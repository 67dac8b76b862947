package io.courier.storage.memory;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Records — a key, a value (both bytes) and a time — packed one after another into a few large
 * byte arrays, found by key through an open-addressing hash table of primitive arrays, and
 * expired oldest first through a binary heap of primitive arrays. Not thread-safe: the backend's
 * lock guards it; {@link #get} and {@link #timeAt}/{@link #valueAt} change nothing, so readers
 * may call them together.
 *
 * <p>Why: the in-memory store keeps a de-duplication record per send and a header per delivered
 * entry for as long as the retention policy says. As Java objects that was about ten small
 * objects per message, all surviving young collections, so a garbage collector that copies
 * (G1's young collections) copied them again and again and its pauses grew with the store. Here
 * the retained records are a handful of large primitive arrays, which a collector neither
 * copies nor scans for references; what the lookups allocate dies at once.
 *
 * <p>Layout of a record at its address (chunk index in the high 32 bits, offset in the low):
 * key length (int, negative once the record is dead), value length (int), time (long), key
 * bytes, value bytes. A chunk is released when its last live record dies and it is no longer
 * the one being appended to. The heap holds (time, address) of every record put; entries of
 * records that died another way (replaced, removed) are dropped when they reach its top.
 */
final class CompactRecords {

    /** Largest ordinary chunk: a little under 4 MiB, so a G1 region count is not wasted on the array header. */
    static final int MAX_CHUNK_BYTES = (4 << 20) - 64;
    private static final int FIRST_CHUNK_BYTES = 64 << 10;
    private static final int HEADER_BYTES = 4 + 4 + 8;
    private static final int DEAD = Integer.MIN_VALUE;
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final int maxChunkBytes;

    private byte[][] chunks = new byte[8][];
    private int[] liveInChunk = new int[8];
    private int current = -1;
    private int position;

    // Linear probing; slot holds address + 1 (0: empty) and the key's hash.
    private long[] slots = new long[16];
    private int[] hashes = new int[16];
    private int size;

    private long[] heapTimes = new long[16];
    private long[] heapAddresses = new long[16];
    private int heapSize;

    CompactRecords() {
        this(MAX_CHUNK_BYTES);
    }

    /** For tests: a small chunk size makes chunks roll over and die within a few records. */
    CompactRecords(int maxChunkBytes) {
        if (maxChunkBytes < HEADER_BYTES) {
            throw new IllegalArgumentException("maxChunkBytes must be at least " + HEADER_BYTES);
        }
        this.maxChunkBytes = maxChunkBytes;
    }

    /** Live records. */
    int size() {
        return size;
    }

    /** Bytes of chunks currently held (live records and the dead ones sharing their chunks). */
    long chunkBytes() {
        long total = 0;
        for (byte[] chunk : chunks) {
            total += chunk == null ? 0 : chunk.length;
        }
        return total;
    }

    /** Stores {@code value} with {@code atMs} under {@code key}, replacing any record of that key. */
    void put(byte[] key, long atMs, byte[] value) {
        int hash = hash(key);
        int slot = find(key, hash);
        long address = append(key, atMs, value);
        if (slot >= 0) {
            kill(slots[slot] - 1);
            slots[slot] = address + 1;
        } else {
            int free = -slot - 1;
            slots[free] = address + 1;
            hashes[free] = hash;
            if (++size > slots.length * 5L / 8) {
                grow();
            }
        }
        heapPush(atMs, address);
    }

    /** The address of {@code key}'s record, or -1. */
    long get(byte[] key) {
        int slot = find(key, hash(key));
        return slot >= 0 ? slots[slot] - 1 : -1;
    }

    /** Removes {@code key}'s record; false if there was none. */
    boolean remove(byte[] key) {
        int slot = find(key, hash(key));
        if (slot < 0) {
            return false;
        }
        kill(slots[slot] - 1);
        deleteSlot(slot);
        return true;
    }

    /**
     * Removes up to {@code limit} records whose time is before {@code beforeMs}, oldest first.
     * Returns how many it removed.
     */
    int expire(long beforeMs, int limit) {
        int removed = 0;
        while (removed < limit && heapSize > 0 && heapTimes[0] < beforeMs) {
            long address = heapAddresses[0];
            heapPop();
            if (isLive(address)) {
                deleteSlot(slotOf(address));
                kill(address);
                removed++;
            }
        }
        return removed;
    }

    /** Forgets every record and releases every chunk. */
    void clear() {
        chunks = new byte[8][];
        liveInChunk = new int[8];
        current = -1;
        position = 0;
        slots = new long[16];
        hashes = new int[16];
        size = 0;
        heapTimes = new long[16];
        heapAddresses = new long[16];
        heapSize = 0;
    }

    long timeAt(long address) {
        return (long) LONG.get(chunk(address), offset(address) + 8);
    }

    byte[] valueAt(long address) {
        byte[] chunk = chunk(address);
        int offset = offset(address);
        int keyLength = (int) INT.get(chunk, offset);
        int valueLength = (int) INT.get(chunk, offset + 4);
        int from = offset + HEADER_BYTES + keyLength;
        return Arrays.copyOfRange(chunk, from, from + valueLength);
    }

    // ---------------------------------------------------------------- chunks

    private long append(byte[] key, long atMs, byte[] value) {
        int need = HEADER_BYTES + key.length + value.length;
        if (current < 0 || position + need > chunks[current].length) {
            newChunk(need);
        }
        byte[] chunk = chunks[current];
        INT.set(chunk, position, key.length);
        INT.set(chunk, position + 4, value.length);
        LONG.set(chunk, position + 8, atMs);
        System.arraycopy(key, 0, chunk, position + HEADER_BYTES, key.length);
        System.arraycopy(value, 0, chunk, position + HEADER_BYTES + key.length, value.length);
        long address = ((long) current << 32) | position;
        position += need;
        liveInChunk[current]++;
        return address;
    }

    private void newChunk(int need) {
        int previous = current;
        current++;
        if (current == chunks.length) {
            chunks = Arrays.copyOf(chunks, current * 2);
            liveInChunk = Arrays.copyOf(liveInChunk, current * 2);
        }
        // Small stores stay small: chunks double from 64 KiB up to the maximum.
        int ordinary = (int) Math.min(maxChunkBytes, (long) FIRST_CHUNK_BYTES << Math.min(current, 20));
        chunks[current] = new byte[Math.max(ordinary, need)];
        position = 0;
        if (previous >= 0 && liveInChunk[previous] == 0) {
            chunks[previous] = null;
        }
    }

    private void kill(long address) {
        byte[] chunk = chunk(address);
        int offset = offset(address);
        INT.set(chunk, offset, DEAD | (int) INT.get(chunk, offset));
        int index = (int) (address >>> 32);
        if (--liveInChunk[index] == 0 && index != current) {
            chunks[index] = null;
        }
    }

    private boolean isLive(long address) {
        byte[] chunk = chunks[(int) (address >>> 32)];
        return chunk != null && (int) INT.get(chunk, offset(address)) >= 0;
    }

    private byte[] chunk(long address) {
        return chunks[(int) (address >>> 32)];
    }

    private static int offset(long address) {
        return (int) address;
    }

    // ---------------------------------------------------------------- index

    private static int hash(byte[] key) {
        int h = Arrays.hashCode(key);
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        return h ^ (h >>> 16);
    }

    /** The slot holding {@code key}, or {@code -(free slot) - 1} where it would go. */
    private int find(byte[] key, int hash) {
        int mask = slots.length - 1;
        for (int i = hash & mask; ; i = (i + 1) & mask) {
            long slot = slots[i];
            if (slot == 0) {
                return -i - 1;
            }
            if (hashes[i] == hash && keyEquals(slot - 1, key)) {
                return i;
            }
        }
    }

    private boolean keyEquals(long address, byte[] key) {
        byte[] chunk = chunk(address);
        int offset = offset(address);
        int length = (int) INT.get(chunk, offset);
        return length == key.length
            && Arrays.equals(chunk, offset + HEADER_BYTES, offset + HEADER_BYTES + length, key, 0, key.length);
    }

    /** The slot of a live record, found by its own key's hash. */
    private int slotOf(long address) {
        byte[] chunk = chunk(address);
        int offset = offset(address);
        int length = (int) INT.get(chunk, offset);
        int hash = hash(Arrays.copyOfRange(chunk, offset + HEADER_BYTES, offset + HEADER_BYTES + length));
        int mask = slots.length - 1;
        for (int i = hash & mask; ; i = (i + 1) & mask) {
            if (slots[i] == address + 1) {
                return i;
            }
            if (slots[i] == 0) {
                throw new IllegalStateException("Record " + Long.toHexString(address) + " is live but not indexed");
            }
        }
    }

    /** Empties slot {@code i}, shifting back the entries after it that probed past it. */
    private void deleteSlot(int i) {
        int mask = slots.length - 1;
        int hole = i;
        for (int j = (hole + 1) & mask; slots[j] != 0; j = (j + 1) & mask) {
            int home = hashes[j] & mask;
            // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
            boolean stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (!stays) {
                slots[hole] = slots[j];
                hashes[hole] = hashes[j];
                hole = j;
            }
        }
        slots[hole] = 0;
        hashes[hole] = 0;
        size--;
    }

    private void grow() {
        long[] oldSlots = slots;
        int[] oldHashes = hashes;
        slots = new long[oldSlots.length * 2];
        hashes = new int[oldSlots.length * 2];
        int mask = slots.length - 1;
        for (int k = 0; k < oldSlots.length; k++) {
            if (oldSlots[k] != 0) {
                int i = oldHashes[k] & mask;
                while (slots[i] != 0) {
                    i = (i + 1) & mask;
                }
                slots[i] = oldSlots[k];
                hashes[i] = oldHashes[k];
            }
        }
    }

    // ---------------------------------------------------------------- expiry heap

    private void heapPush(long time, long address) {
        if (heapSize == heapTimes.length) {
            heapTimes = Arrays.copyOf(heapTimes, heapSize * 2);
            heapAddresses = Arrays.copyOf(heapAddresses, heapSize * 2);
        }
        int i = heapSize++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heapTimes[parent] <= time) {
                break;
            }
            heapTimes[i] = heapTimes[parent];
            heapAddresses[i] = heapAddresses[parent];
            i = parent;
        }
        heapTimes[i] = time;
        heapAddresses[i] = address;
    }

    private void heapPop() {
        long time = heapTimes[--heapSize];
        long address = heapAddresses[heapSize];
        int i = 0;
        int half = heapSize >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            if (child + 1 < heapSize && heapTimes[child + 1] < heapTimes[child]) {
                child++;
            }
            if (time <= heapTimes[child]) {
                break;
            }
            heapTimes[i] = heapTimes[child];
            heapAddresses[i] = heapAddresses[child];
            i = child;
        }
        if (heapSize > 0) {
            heapTimes[i] = time;
            heapAddresses[i] = address;
        }
        // A heap of mostly dead entries is not shrunk here; it empties as their times pass.
    }
}
