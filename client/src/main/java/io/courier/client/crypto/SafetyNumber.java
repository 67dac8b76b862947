package io.courier.client.crypto;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * The number two people compare to check that their devices encrypt to each other's real keys
 * (docs/E2E.md section 9), Signal's numeric fingerprint over every device's identity key (IKs.pub):
 * <pre>
 * fingerprint(user, keys) = first 30 bytes of H_5200, H_0 = be16(0) || keysSorted || str(user),
 *                           H_i = SHA512(H_{i-1} || keysSorted)
 * digits(f) = each 5-byte chunk as a big-endian number mod 100000, as 5 digits
 * </pre>
 * Both users' 30 digits, the lower first, in 12 groups of 5: the same whichever side computes it.
 */
public final class SafetyNumber {
    static final int ITERATIONS = 5200;

    private SafetyNumber() {
    }

    /**
     * The safety number of {@code userA} with the identity keys of their devices and {@code userB}
     * with theirs, e.g. {@code "12345 67890 ..."} (12 groups). Symmetric in the two users; the order
     * of each user's keys does not matter.
     */
    public static String of(String userA, Collection<byte[]> identityKeysA, String userB, Collection<byte[]> identityKeysB) {
        String a = digits(fingerprint(userA, identityKeysA));
        String b = digits(fingerprint(userB, identityKeysB));
        String both = a.compareTo(b) <= 0 ? a + b : b + a;
        StringBuilder out = new StringBuilder(71);
        for (int i = 0; i < both.length(); i += 5) {
            if (i > 0) {
                out.append(' ');
            }
            out.append(both, i, i + 5);
        }
        return out.toString();
    }

    static byte[] fingerprint(String user, Collection<byte[]> identityKeys) {
        if (identityKeys.isEmpty()) {
            throw new IllegalArgumentException(user + " has no device identity keys to fingerprint");
        }
        List<byte[]> sorted = new ArrayList<>();
        for (byte[] k : identityKeys) {
            if (k.length != 32) {
                throw new E2eException(Reason.BAD_KEY, "an identity key of " + user + " is " + k.length + " bytes, not 32");
            }
            sorted.add(k.clone());
        }
        sorted.sort(Arrays::compareUnsigned);
        byte[] keys = Bytes.concat(sorted.toArray(new byte[0][]));
        byte[] h = new Bytes.Writer().be16(0).raw(keys).str(user).toBytes();
        MessageDigest sha = Primitives.sha512();
        for (int i = 0; i < ITERATIONS; i++) {
            sha.update(h);
            sha.update(keys);
            h = sha.digest();
        }
        return Arrays.copyOf(h, 30);
    }

    static String digits(byte[] fingerprint) {
        StringBuilder s = new StringBuilder(30);
        for (int c = 0; c < 30; c += 5) {
            long v = 0;
            for (int i = 0; i < 5; i++) {
                v = (v << 8) | (fingerprint[c + i] & 0xff);
            }
            s.append(String.format("%05d", v % 100000));
        }
        return s.toString();
    }
}
