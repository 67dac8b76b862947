package io.courier.client.crypto;

/**
 * The outer layout every encrypted payload shares (docs/E2E.md section 4):
 * <pre>
 * envelope = version (1 byte, 01) || type (1 byte) || header || ciphertext
 * </pre>
 */
public final class Envelope {
    /** The only version: 1. */
    public static final int VERSION = 1;
    /** The content type of every encrypted message on the wire, so the server does not learn the real one. */
    public static final String CONTENT_TYPE = "application/vnd.courier.e2e";

    private Envelope() {
    }

    /** The kind of an envelope, by its type byte. */
    public enum Type {
        /** Type 01: a pre-shared conversation key (section 4.1). */
        SHARED_KEY,
        /** Type 02: a Double Ratchet message, maybe with the X3DH header (section 4.2). */
        SIGNAL
    }

    /**
     * The type of {@code envelope}: {@link Reason#MALFORMED} when it is shorter than two bytes,
     * {@link Reason#UNSUPPORTED_VERSION} for an unknown version or type byte.
     */
    public static Type type(byte[] envelope) {
        if (envelope == null || envelope.length < 2) {
            throw new E2eException(Reason.MALFORMED, "an envelope has at least a version and a type byte");
        }
        if ((envelope[0] & 0xff) != VERSION) {
            throw new E2eException(Reason.UNSUPPORTED_VERSION, "envelope version " + (envelope[0] & 0xff) + " is unknown");
        }
        return switch (envelope[1]) {
            case 1 -> Type.SHARED_KEY;
            case 2 -> Type.SIGNAL;
            default -> throw new E2eException(Reason.UNSUPPORTED_VERSION, "envelope type " + (envelope[1] & 0xff) + " is unknown");
        };
    }
}
