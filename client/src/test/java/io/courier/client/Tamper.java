package io.courier.client;

import com.google.protobuf.ByteString;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.Frame;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * A rewrite for {@link ChaosProxy#rewriteFromServer} that flips one bit of the payload of chosen
 * Deliver frames on their way to the client, as a broken link or an attacker on it would, and
 * keeps each frame as it was and as it went on so a test can say exactly what it changed.
 */
final class Tamper implements UnaryOperator<Frame> {

    /** One flipped frame: the Deliver as the server sent it and as the client got it. */
    record Flipped(Deliver original, Deliver tampered) {
    }

    private final Predicate<Deliver> which;
    private final int bit;
    final List<Flipped> flipped = new CopyOnWriteArrayList<>();

    /**
     * Flips bit {@code bit} (counted from the payload's first byte, most significant bit first;
     * taken modulo the payload's length in bits) of every Deliver that {@code which} accepts.
     */
    Tamper(Predicate<Deliver> which, int bit) {
        this.which = which;
        this.bit = bit;
    }

    @Override
    public Frame apply(Frame frame) {
        if (!frame.hasDeliver() || !which.test(frame.getDeliver()) || frame.getDeliver().getPayload().isEmpty()) {
            return frame;
        }
        Deliver d = frame.getDeliver();
        byte[] payload = d.getPayload().toByteArray();
        int at = Math.floorMod(bit, payload.length * 8);
        payload[at / 8] ^= (byte) (0x80 >>> (at % 8));
        Deliver changed = d.toBuilder().setPayload(ByteString.copyFrom(payload)).build();
        flipped.add(new Flipped(d, changed));
        return frame.toBuilder().setDeliver(changed).build();
    }
}
