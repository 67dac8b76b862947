package io.courier.client.crypto;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Every Double Ratchet session this device has with one remote device: up to 5, newest first
 * (docs/E2E.md section 6). Immutable: {@link #encrypt} and {@link SessionCipher#decrypt} return a
 * new record, which the caller stores in the same database transaction as the message it belongs
 * to; on failure the caller stores nothing and its record is unchanged.
 */
public final class SessionRecord {
    /** How many sessions a record keeps with one remote device. */
    public static final int MAX_SESSIONS = 5;
    private static final int VERSION = 1;

    private final List<SessionState> states;

    SessionRecord(List<SessionState> states) {
        if (states.isEmpty()) {
            throw new IllegalArgumentException("a session record has at least one session");
        }
        this.states = List.copyOf(states.subList(0, Math.min(MAX_SESSIONS, states.size())));
    }

    /**
     * An encrypted envelope and the record to store with it.
     *
     * @param envelope the envelope for {@code DevicePayload.payload}
     * @param updated the record to store, in the same transaction as the outgoing message
     */
    public record Encrypted(byte[] envelope, SessionRecord updated) {
    }

    /**
     * Starts a session with the device of {@code theirs} (X3DH as the initiator, section 5): checks
     * the bundle ({@link Reason#FORGED_PRE_KEY}, {@link Reason#BAD_KEY}) and takes 64 bytes of
     * {@code entropy}, for the ephemeral key and the first ratchet key.
     */
    public static SessionRecord initiate(DeviceIdentity ours, RemoteBundle theirs, Entropy entropy) {
        return new SessionRecord(List.of(SessionState.initiate(ours, theirs, entropy)));
    }

    /**
     * The envelope of {@code plaintext} (usually a {@link PlainMessage#encode()}) in the newest
     * session, bound to {@code conversation} and {@code target}, and the record to store with it.
     * Takes 32 bytes of {@code entropy} when the ratchet turns (the first message after one from
     * the other device), none otherwise.
     */
    public Encrypted encrypt(Conversation conversation, Target target, byte[] plaintext, Entropy entropy) {
        Objects.requireNonNull(conversation, "conversation");
        Objects.requireNonNull(target, "target");
        SessionState s = states.get(0).copy();
        byte[] envelope = s.encrypt(conversation, target, plaintext, entropy);
        List<SessionState> next = new ArrayList<>(states);
        next.set(0, s);
        return new Encrypted(envelope, new SessionRecord(next));
    }

    /** The remote device's identity key (IKs.pub) in the newest session. */
    public byte[] remoteIdentityKey() {
        return states.get(0).remoteIdentityKey.clone();
    }

    /** The remote device's X25519 identity key (IKd.pub) in the newest session. */
    public byte[] remoteIdentityDhKey() {
        return states.get(0).remoteIdentityDhKey.clone();
    }

    /** How many sessions the record holds, 1 to {@link #MAX_SESSIONS}. */
    public int sessionCount() {
        return states.size();
    }

    /**
     * Whether the newest session still sends the X3DH header, because this device started it and
     * has not yet received a message in it.
     */
    public boolean awaitingReply() {
        return states.get(0).pendingX3dh != null;
    }

    List<SessionState> states() {
        return states;
    }

    /** {@code 01 || count (1) || sessions}, newest first; the layout is private to this class. */
    public byte[] toBytes() {
        Bytes.Writer w = new Bytes.Writer().u8(VERSION).u8(states.size());
        for (SessionState s : states) {
            s.write(w);
        }
        return w.toBytes();
    }

    /** Reads {@link #toBytes()}: {@link Reason#UNSUPPORTED_VERSION} or {@link Reason#MALFORMED} when it cannot. */
    public static SessionRecord fromBytes(byte[] bytes) {
        Bytes.Reader r = new Bytes.Reader(bytes, "a session record");
        int version = r.u8();
        if (version != VERSION) {
            throw new E2eException(Reason.UNSUPPORTED_VERSION, "session record version " + version + " is unknown");
        }
        int count = r.u8();
        if (count < 1 || count > MAX_SESSIONS) {
            throw new E2eException(Reason.MALFORMED, "a session record holds 1 to " + MAX_SESSIONS + " sessions, not " + count);
        }
        List<SessionState> states = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            states.add(SessionState.read(r));
        }
        r.end();
        return new SessionRecord(states);
    }

    @Override
    public String toString() {
        return "SessionRecord[sessions=" + states.size() + ", remoteIdentityKey=" + Bytes.hex(states.get(0).remoteIdentityKey) + "]";
    }
}
