package io.courier.client.crypto;

import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * What is encrypted, in both modes (docs/E2E.md section 7): the real content type, the body and
 * maybe a media key, padded to a multiple of 160 bytes so ciphertext sizes say less.
 * <pre>
 * plaintext = 01 || str(contentType) || be32(len(body)) || body || mediaFlag (1 byte)
 *             [ media: mediaKey (64) || sha256OfBlob (32) || be64(plainSize) || str(fileName)
 *                      || str(mediaContentType) ]
 *             || zero padding to the next multiple of 160
 * </pre>
 *
 * @param contentType the real content type of {@code body}
 * @param body the message text (UTF-8) or other content
 * @param media the key of an attached media blob, if any
 */
public record PlainMessage(String contentType, byte[] body, Optional<MediaKeyInfo> media) {
    /** Plaintexts are padded to a multiple of this. */
    public static final int PADDING_BLOCK = 160;

    /** Checks no field is null. */
    public PlainMessage {
        Objects.requireNonNull(contentType, "contentType");
        Objects.requireNonNull(body, "body");
        Objects.requireNonNull(media, "media");
        body = body.clone();
    }

    @Override
    public byte[] body() {
        return body.clone();
    }

    /** The padded encoding. */
    public byte[] encode() {
        Bytes.Writer w = new Bytes.Writer().u8(1).str(contentType).be32(body.length).raw(body);
        if (media.isPresent()) {
            MediaKeyInfo m = media.get();
            w.u8(1).raw(m.mediaKey()).raw(m.blobSha256()).be64(m.plainSize()).str(m.fileName()).str(m.contentType());
        } else {
            w.u8(0);
        }
        int pad = (PADDING_BLOCK - w.size() % PADDING_BLOCK) % PADDING_BLOCK;
        return w.raw(new byte[pad]).toBytes();
    }

    /**
     * Reads an encoding, ignoring anything after the last field (the padding): an unknown version
     * byte is {@link Reason#UNSUPPORTED_VERSION}, anything else that does not parse
     * {@link Reason#MALFORMED}.
     */
    public static PlainMessage decode(byte[] plaintext) {
        Bytes.Reader r = new Bytes.Reader(plaintext, "a plaintext");
        int version = r.u8();
        if (version != 1) {
            throw new E2eException(Reason.UNSUPPORTED_VERSION, "plaintext version " + version + " is unknown");
        }
        String contentType = r.str();
        int length = r.be32();
        if (length < 0) {
            throw new E2eException(Reason.MALFORMED, "a plaintext body length is negative");
        }
        byte[] body = r.raw(length);
        int flag = r.u8();
        Optional<MediaKeyInfo> media = switch (flag) {
            case 0 -> Optional.empty();
            case 1 -> Optional.of(new MediaKeyInfo(r.raw(64), r.raw(32), r.be64(), r.str(), r.str()));
            default -> throw new E2eException(Reason.MALFORMED, "a plaintext media flag is 0 or 1, not " + flag);
        };
        return new PlainMessage(contentType, body, media);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PlainMessage p && contentType.equals(p.contentType) && Arrays.equals(body, p.body)
                && media.equals(p.media);
    }

    @Override
    public int hashCode() {
        return Objects.hash(contentType, Arrays.hashCode(body), media);
    }

    @Override
    public String toString() {
        return "PlainMessage[contentType=" + contentType + ", body=" + body.length + " bytes, media=" + media + "]";
    }
}
