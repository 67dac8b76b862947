package io.courier.cluster.redis;

import io.courier.router.cluster.ClusterLink.Committed;
import io.courier.storage.DeviceId;
import io.courier.storage.MessageKind;
import io.courier.storage.StoredMessage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The text of an entry signal, {@code e BASE64}: committed entries carried to the node that
 * serves their devices, so that a session there delivers them without reading its inbox. The
 * bytes are a version byte, then per entry the device, the id its inbox held before it, and the
 * entry's fields, strings as a length and UTF-8, numbers big-endian.
 */
final class EntrySignal {

    static final String PREFIX = "e ";
    private static final int VERSION = 1;
    private static final MessageKind[] KINDS = MessageKind.values();

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final DataOutputStream out = new DataOutputStream(bytes);
    private int count;

    EntrySignal() {
        bytes.write(VERSION);
    }

    /** The bytes an entry takes in a signal, about. */
    static int size(Committed entry) {
        StoredMessage m = entry.message();
        return 64 + m.payload().length + m.media().length + m.clientMessageId().length() + m.contentType().length();
    }

    void add(Committed entry) {
        StoredMessage m = entry.message();
        try {
            text(entry.device().user());
            text(entry.device().device());
            out.writeLong(entry.after());
            out.writeLong(m.serverId());
            out.writeByte(m.kind().ordinal());
            text(m.sender().user());
            text(m.sender().device());
            text(m.recipient());
            text(m.clientMessageId());
            out.writeLong(m.refServerId());
            out.writeLong(m.timestampMs());
            text(m.contentType());
            blob(m.payload());
            blob(m.media());
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
        count++;
    }

    int count() {
        return count;
    }

    String text() {
        return PREFIX + Base64.getEncoder().encodeToString(bytes.toByteArray());
    }

    /**
     * The entries of a signal's text (after {@link #PREFIX}).
     *
     * @throws IllegalArgumentException when it is not one this version writes.
     */
    static List<Committed> parse(String base64) {
        ByteBuffer in;
        try {
            in = ByteBuffer.wrap(Base64.getDecoder().decode(base64));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not Base64: " + e.getMessage(), e);
        }
        List<Committed> entries = new ArrayList<>();
        try {
            int version = in.get();
            if (version != VERSION) {
                throw new IllegalArgumentException("entry signal version " + version + ", this node reads " + VERSION);
            }
            while (in.hasRemaining()) {
                DeviceId device = new DeviceId(text(in), text(in));
                long after = in.getLong();
                long serverId = in.getLong();
                int kind = in.get();
                if (kind < 0 || kind >= KINDS.length) {
                    throw new IllegalArgumentException("unknown entry kind " + kind);
                }
                DeviceId sender = new DeviceId(text(in), text(in));
                String recipient = text(in);
                String clientId = text(in);
                long ref = in.getLong();
                long at = in.getLong();
                String contentType = text(in);
                byte[] payload = blob(in);
                byte[] media = blob(in);
                entries.add(new Committed(device, new StoredMessage(serverId, KINDS[kind], sender, recipient, clientId,
                    ref, at, contentType, payload, media), after));
            }
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("truncated after " + entries.size() + " entries", e);
        }
        return entries;
    }

    private void text(String value) throws IOException {
        blob(value.getBytes(StandardCharsets.UTF_8));
    }

    private void blob(byte[] value) throws IOException {
        out.writeInt(value.length);
        out.write(value);
    }

    private static String text(ByteBuffer in) {
        return new String(blob(in), StandardCharsets.UTF_8);
    }

    private static byte[] blob(ByteBuffer in) {
        int length = in.getInt();
        if (length < 0 || length > in.remaining()) {
            throw new IllegalArgumentException("a field of " + length + " bytes where " + in.remaining() + " remain");
        }
        byte[] value = new byte[length];
        in.get(value);
        return value;
    }
}
