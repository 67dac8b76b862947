package io.courier.transport.udp.internal;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The constants of the UDP transport's datagrams — type bytes, sizes, the version byte, the cookie
 * lifetime — and the stateless handshake cookies. The datagram layout is specified in
 * {@code docs/PROTOCOL.md}, section 5 (UDP); keep the two in step.
 *
 * <p>{@link Cookies} keys its HMAC with a secret drawn when the process starts, so cookies need no
 * state on the server and are worthless to any other process.
 *
 * <p>Public only so that {@code courier-bench} can measure it (the {@code codec} JMH benchmarks);
 * it is internal all the same.
 */
public final class Wire {

    static final byte HELLO = 1;
    static final byte COOKIE = 2;
    static final byte HELLO2 = 3;
    static final byte ACCEPT = 4;
    public static final byte DATA = 5;
    public static final byte ACK = 6;
    static final byte PING = 7;
    static final byte CLOSE = 8;
    static final byte REJECT = 9;

    static final int HANDSHAKE_BYTES = 1_200;
    public static final int HEADER_BYTES = 9;
    static final byte VERSION = 1;
    static final long COOKIE_LIFETIME_SECONDS = 30;

    private Wire() {
    }

    /** Issues and checks stateless cookies with a per-process secret. */
    static final class Cookies {
        private final SecretKeySpec key;

        Cookies() {
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            key = new SecretKeySpec(secret, "HmacSHA256");
        }

        byte[] issue(InetSocketAddress client, long issuedAtSeconds) {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(key);
                mac.update(client.getAddress().getAddress());
                mac.update(ByteBuffer.allocate(12).putInt(client.getPort()).putLong(issuedAtSeconds).array());
                byte[] full = mac.doFinal();
                byte[] cookie = new byte[16];
                System.arraycopy(full, 0, cookie, 0, 16);
                return cookie;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("HmacSHA256 is unavailable", e);
            }
        }

        boolean valid(InetSocketAddress client, byte[] cookie, long issuedAtSeconds, long nowSeconds) {
            return nowSeconds - issuedAtSeconds <= COOKIE_LIFETIME_SECONDS && issuedAtSeconds <= nowSeconds + 1
                && MessageDigest.isEqual(issue(client, issuedAtSeconds), cookie);
        }
    }
}
