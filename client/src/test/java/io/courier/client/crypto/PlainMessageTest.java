package io.courier.client.crypto;

import static io.courier.client.crypto.Reasons.assertFails;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The plaintext codec: round trips, padding to 160 bytes, malformed input. */
class PlainMessageTest {

    @Test
    void shouldRoundTripWithAndWithoutMediaPaddedTo160() {
        Entropy e = Entropy.secure();
        MediaKeyInfo media = new MediaKeyInfo(e.bytes(64), e.bytes(32), 12345, "cat.jpg", "image/jpeg");
        for (int size : new int[] {0, 1, 100, 149, 150, 151, 1000}) {
            for (Optional<MediaKeyInfo> m : java.util.List.of(Optional.<MediaKeyInfo>empty(), Optional.of(media))) {
                PlainMessage p = new PlainMessage("text/plain", e.bytes(size), m);
                byte[] enc = p.encode();
                assertThat(enc.length % 160).isZero();
                assertThat(PlainMessage.decode(enc)).isEqualTo(p);
            }
        }
        // 1 + 2 + 10 + 4 + 142 + 1 = 160 exactly: no padding at all.
        PlainMessage exact = new PlainMessage("text/plain", new byte[142], Optional.empty());
        assertThat(exact.encode()).hasSize(160);
    }

    @Test
    void shouldRefuseMalformedPlaintexts() {
        byte[] enc = new PlainMessage("text/plain", "hi".getBytes(StandardCharsets.UTF_8), Optional.empty()).encode();
        assertFails(Reason.MALFORMED, () -> PlainMessage.decode(new byte[0]));
        assertFails(Reason.MALFORMED, () -> PlainMessage.decode(Arrays.copyOf(enc, 10)));
        byte[] v = enc.clone();
        v[0] = 2;
        assertFails(Reason.UNSUPPORTED_VERSION, () -> PlainMessage.decode(v));
        byte[] flag = enc.clone();
        flag[1 + 2 + 10 + 4 + 2] = 7;
        assertFails(Reason.MALFORMED, () -> PlainMessage.decode(flag));
        byte[] huge = enc.clone();
        huge[13] = 0x7f;
        assertFails(Reason.MALFORMED, () -> PlainMessage.decode(huge));
    }
}
