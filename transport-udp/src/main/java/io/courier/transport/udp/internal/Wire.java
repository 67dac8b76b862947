package io.courier.transport.udp.internal;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The UDP datagram layout. Every datagram starts with a type byte; all but the handshake carry the
 * connection id the server assigned.
 *
 * <pre>
 *  HELLO   1 | version (1) | zero padding to 1,200 bytes
 *  COOKIE  2 | cookie (16) | issued-at seconds (8)                      (25 bytes)
 *  HELLO2  3 | cookie (16) | issued-at seconds (8) | padding to 1,200 bytes
 *  ACCEPT  4 | connection id (8)
 *  DATA    5 | connection id (8) | ReliableStream DATA body
 *  ACK     6 | connection id (8) | ReliableStream ACK body
 *  PING    7 | connection id (8)
 *  CLOSE   8 | connection id (8)
 *  REJECT  9 | connection id (8) | reason, UTF-8, cut to fit the datagram it answers
 * </pre>
 *
 * The handshake is padded so that, before a client proves it can receive at its address (by
 * echoing the cookie), the server never sends more bytes than it received: no amplification. The
 * cookie is an HMAC of the client's address and the time, so the server keeps no state for it.
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
