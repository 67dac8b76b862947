package io.courier.client.crypto;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Decrypts Signal-mode envelopes (docs/E2E.md sections 4.2, 5, 6): in an existing session, or by
 * answering the X3DH header of a new one. Encrypting is {@link SessionRecord#encrypt}.
 */
public final class SessionCipher {
    private SessionCipher() {
    }

    /**
     * A decrypted message and what to store with it, in one transaction.
     *
     * @param plaintext the plaintext (usually a {@link PlainMessage} encoding)
     * @param updated the record to store instead of the old one
     * @param usedOneTimePreKeyId the one-time pre-key this message used to start a session: erase it
     * @param senderIdentityKey the sending device's identity key (IKs.pub), to compare with the known one
     */
    public record Decrypted(byte[] plaintext, SessionRecord updated, OptionalInt usedOneTimePreKeyId,
                            byte[] senderIdentityKey) {
    }

    /**
     * Decrypts {@code envelope}, bound to {@code conversation} and {@code target} (this device).
     * With an x3dh header it is decrypted in the session it started, if {@code existing} has it,
     * else in a new session made from {@code keys} (which then becomes the newest of at most 5).
     * Without one, each session of {@code existing} is tried, newest first; the one that succeeds
     * becomes the newest. {@code existing} itself never changes. Fails with {@link E2eException}:
     * {@link Reason#NO_SESSION}, {@link Reason#ONE_TIME_PRE_KEY_REUSED}, {@link Reason#FORGED_PRE_KEY},
     * {@link Reason#BAD_KEY}, {@link Reason#BAD_CIPHERTEXT}, {@link Reason#DUPLICATE_OR_EXPIRED},
     * {@link Reason#TOO_FAR_AHEAD}, {@link Reason#MALFORMED}, {@link Reason#UNSUPPORTED_VERSION}.
     */
    public static Decrypted decrypt(DeviceIdentity ours, Optional<SessionRecord> existing, PreKeyLookup keys,
                                    Conversation conversation, Target target, byte[] envelope) {
        Objects.requireNonNull(ours, "ours");
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(conversation, "conversation");
        Objects.requireNonNull(target, "target");
        SignalHeader h = SignalHeader.parse(envelope);
        List<SessionState> states = existing.map(SessionRecord::states).orElse(List.of());
        if (h.hasX3dh()) {
            for (int i = 0; i < states.size(); i++) {
                if (Arrays.equals(states.get(i).baseKey, h.baseKey)) {
                    return decryptIn(states, i, h, conversation, target);
                }
            }
            if (!Ed25519.verify(h.identityKey, Bytes.concat(DeviceIdentity.IKD_LABEL, h.identityDhKey), h.identityDhSignature)) {
                throw new E2eException(Reason.FORGED_PRE_KEY, "the x3dh header's identity DH key signature does not verify");
            }
            SignedPreKey spk = keys.signedPreKey(h.signedPreKeyId).orElseThrow(() -> new E2eException(Reason.NO_SESSION,
                    "the x3dh header names signed pre-key " + Integer.toUnsignedString(h.signedPreKeyId) + ", which this device no longer has"));
            OneTimePreKey opk = null;
            if (h.oneTimePreKeyId != null) {
                opk = keys.oneTimePreKey(h.oneTimePreKeyId).orElseThrow(() -> new E2eException(Reason.ONE_TIME_PRE_KEY_REUSED,
                        "the x3dh header names one-time pre-key " + Integer.toUnsignedString(h.oneTimePreKeyId)
                                + ", which was used already or never made"));
            }
            SessionState fresh = SessionState.respond(ours, h, spk, opk);
            byte[] plaintext = fresh.decrypt(h, conversation, target);
            List<SessionState> next = new ArrayList<>();
            next.add(fresh);
            next.addAll(states);
            return new Decrypted(plaintext, new SessionRecord(next),
                    opk == null ? OptionalInt.empty() : OptionalInt.of(opk.id()), fresh.remoteIdentityKey.clone());
        }
        if (states.isEmpty()) {
            throw new E2eException(Reason.NO_SESSION, "a ratchet message without an x3dh header, and no session with its sender");
        }
        E2eException chosen = null;
        for (int i = 0; i < states.size(); i++) {
            try {
                return decryptIn(states, i, h, conversation, target);
            } catch (E2eException e) {
                if (chosen == null || (chosen.reason() == Reason.BAD_CIPHERTEXT && e.reason() != Reason.BAD_CIPHERTEXT)) {
                    chosen = e;
                }
            }
        }
        throw chosen;
    }

    private static Decrypted decryptIn(List<SessionState> states, int i, SignalHeader h, Conversation c, Target t) {
        SessionState s = states.get(i).copy();
        byte[] plaintext = s.decrypt(h, c, t);
        List<SessionState> next = new ArrayList<>(states);
        next.remove(i);
        next.add(0, s);
        return new Decrypted(plaintext, new SessionRecord(next), OptionalInt.empty(), s.remoteIdentityKey.clone());
    }
}
