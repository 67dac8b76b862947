package io.courier.bench.codec;

import com.google.protobuf.ByteString;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Send;
import java.util.SplittableRandom;

/**
 * The two frames on the per-message hot path, filled the way a chat client and the router fill
 * them, so every transport's codec is measured on the same bytes: a {@code Send} from a client and
 * the {@code Deliver} the server makes of it. Payloads are seeded random bytes, as an encrypted
 * payload would be (it matters for the JSON mapping, which base64-encodes them).
 */
final class SampleFrames {

    private static final String CLIENT_MESSAGE_ID = "6f1c2a7e-3b9d-4c1e-9a52-7d0e8f4b21c3";

    private SampleFrames() {
    }

    /** Client to server: a chat message of {@code payloadBytes} for "bob". */
    static Frame send(int payloadBytes) {
        return Frame.newBuilder().setSend(Send.newBuilder()
            .setClientMessageId(CLIENT_MESSAGE_ID)
            .setRecipient("bob")
            .setContentType("text/plain")
            .setPayload(payload(payloadBytes)))
            .build();
    }

    /** Server to client: that message delivered to bob, with the router's ids and time. */
    static Frame deliver(int payloadBytes) {
        return Frame.newBuilder().setDeliver(Deliver.newBuilder()
            .setServerMessageId(1_234_567_890_123L)
            .setSender("alice")
            .setSenderDevice("1")
            .setRecipient("bob")
            .setClientMessageId(CLIENT_MESSAGE_ID)
            .setAcceptedAtMs(1_760_000_000_000L)
            .setContentType("text/plain")
            .setPayload(payload(payloadBytes)))
            .build();
    }

    private static ByteString payload(int size) {
        byte[] bytes = new byte[size];
        new SplittableRandom(size).nextBytes(bytes);
        return ByteString.copyFrom(bytes);
    }

    /** Fails the trial, before any measurement, when a codec does not give back what it was given. */
    static void checkRoundTrip(String what, Frame expected, Object actual) {
        if (!expected.equals(actual)) {
            throw new IllegalStateException(what + " did not round-trip: expected a " + expected.getBodyCase()
                + " frame of " + expected.getSerializedSize() + " bytes, got " + actual);
        }
    }
}
