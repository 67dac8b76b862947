package io.courier.client.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Safety numbers: the format, symmetry, and a change whenever any identity key changes. */
class SafetyNumberTest {
    private final Entropy entropy = Entropy.secure();
    private final byte[] a1 = entropy.bytes(32);
    private final byte[] a2 = entropy.bytes(32);
    private final byte[] b1 = entropy.bytes(32);

    @Test
    void shouldBeSixtyDigitsTheSameFromBothSides() {
        String n = SafetyNumber.of("alice", List.of(a1, a2), "bob", List.of(b1));
        assertThat(n).matches("\\d{5}( \\d{5}){11}");
        assertThat(SafetyNumber.of("bob", List.of(b1), "alice", List.of(a2, a1))).isEqualTo(n);
    }

    @Test
    void shouldChangeWhenAnyKeyChangesOrADeviceComesOrGoes() {
        String n = SafetyNumber.of("alice", List.of(a1, a2), "bob", List.of(b1));
        byte[] changed = a2.clone();
        changed[31] ^= 1;
        assertThat(SafetyNumber.of("alice", List.of(a1, changed), "bob", List.of(b1))).isNotEqualTo(n);
        assertThat(SafetyNumber.of("alice", List.of(a1), "bob", List.of(b1))).isNotEqualTo(n);
        assertThat(SafetyNumber.of("alice", List.of(a1, a2), "bob", List.of(b1, entropy.bytes(32)))).isNotEqualTo(n);
        assertThat(SafetyNumber.of("alice", List.of(a1, a2), "bob", List.of(entropy.bytes(32)))).isNotEqualTo(n);
        assertThat(SafetyNumber.of("alicia", List.of(a1, a2), "bob", List.of(b1))).isNotEqualTo(n);
    }
}
