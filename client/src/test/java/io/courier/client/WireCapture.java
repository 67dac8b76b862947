package io.courier.client;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Every byte that crossed a {@link ChaosProxy}, each connection's two directions kept as separate
 * streams in the order they were read, so a test can search the wire for bytes that must never be
 * on it (a needle split across two reads of one stream is still found; one that would only appear
 * by joining two connections is not, as it never was on the wire).
 */
final class WireCapture {

    /** One direction of one connection. */
    record Stream(int connection, boolean fromClient, ByteArrayOutputStream bytes) {
    }

    private final List<Stream> streams = new ArrayList<>();

    synchronized Stream open(int connection, boolean fromClient) {
        Stream s = new Stream(connection, fromClient, new ByteArrayOutputStream());
        streams.add(s);
        return s;
    }

    void record(Stream stream, byte[] bytes, int offset, int length) {
        synchronized (stream.bytes()) {
            stream.bytes().write(bytes, offset, length);
        }
    }

    /** Each stream's bytes so far, in the order the streams opened. */
    synchronized List<byte[]> snapshot() {
        List<byte[]> all = new ArrayList<>();
        for (Stream s : streams) {
            synchronized (s.bytes()) {
                all.add(s.bytes().toByteArray());
            }
        }
        return all;
    }

    /** How many bytes were captured, both ways, on every connection. */
    long size() {
        return snapshot().stream().mapToLong(b -> b.length).sum();
    }

    /** Whether {@code needle} occurs in any one stream. */
    boolean contains(byte[] needle) {
        return snapshot().stream().anyMatch(b -> PlaintextSearch.indexOf(b, needle) >= 0);
    }
}
