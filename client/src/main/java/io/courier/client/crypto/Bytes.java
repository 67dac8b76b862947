package io.courier.client.crypto;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/** Byte helpers for the encodings of docs/E2E.md: big-endian integers, {@code str(s)}, a bounds-checked reader. */
final class Bytes {
    private Bytes() {
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    static byte[] be64(long v) {
        byte[] b = new byte[8];
        for (int i = 7; i >= 0; i--) {
            b[i] = (byte) v;
            v >>>= 8;
        }
        return b;
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** An append-only buffer for encodings. */
    static final class Writer {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Writer u8(int v) {
            out.write(v);
            return this;
        }

        Writer be16(int v) {
            out.write(v >>> 8);
            out.write(v);
            return this;
        }

        Writer be32(int v) {
            be16(v >>> 16);
            return be16(v & 0xffff);
        }

        Writer be64(long v) {
            out.writeBytes(Bytes.be64(v));
            return this;
        }

        Writer raw(byte[] b) {
            out.writeBytes(b);
            return this;
        }

        /** {@code str(s)}: be16 length of the UTF-8 bytes, then the bytes. */
        Writer str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            if (b.length > 0xffff) {
                throw new E2eException(Reason.MALFORMED, "a string field is " + b.length + " UTF-8 bytes, at most 65535 fit");
            }
            return be16(b.length).raw(b);
        }

        /** A length-prefixed (be32) byte string, for stored records. */
        Writer blob(byte[] b) {
            return be32(b.length).raw(b);
        }

        int size() {
            return out.size();
        }

        byte[] toBytes() {
            return out.toByteArray();
        }
    }

    /** Reads an encoding; running past the end is {@link Reason#MALFORMED}. */
    static final class Reader {
        private final byte[] b;
        private final String what;
        private int at;

        Reader(byte[] b, String what) {
            this.b = b;
            this.what = what;
        }

        Reader(byte[] b, int offset, String what) {
            this(b, what);
            this.at = offset;
        }

        private void need(int n) {
            if (n < 0 || b.length - at < n) {
                throw new E2eException(Reason.MALFORMED, what + " ends early (needs " + n + " bytes at offset " + at
                        + ", has " + (b.length - at) + ")");
            }
        }

        int u8() {
            need(1);
            return b[at++] & 0xff;
        }

        int be16() {
            return (u8() << 8) | u8();
        }

        int be32() {
            return (be16() << 16) | be16();
        }

        long be64() {
            return ((long) be32() << 32) | (be32() & 0xffffffffL);
        }

        byte[] raw(int n) {
            need(n);
            byte[] out = new byte[n];
            System.arraycopy(b, at, out, 0, n);
            at += n;
            return out;
        }

        String str() {
            int n = be16();
            return new String(raw(n), StandardCharsets.UTF_8);
        }

        byte[] blob() {
            return raw(be32());
        }

        int position() {
            return at;
        }

        int remaining() {
            return b.length - at;
        }

        byte[] rest() {
            return raw(remaining());
        }

        void end() {
            if (at != b.length) {
                throw new E2eException(Reason.MALFORMED, what + " has " + (b.length - at) + " unexpected trailing bytes");
            }
        }
    }
}
