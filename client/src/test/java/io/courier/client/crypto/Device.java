package io.courier.client.crypto;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** A device for the session tests: its keys, its sessions, and the key directory's view of it. */
final class Device implements PreKeyLookup {
    final String user;
    final String name;
    final Entropy entropy;
    final DeviceIdentity identity;
    final SignedPreKey signedPreKey;
    final TreeMap<Integer, OneTimePreKey> oneTimePreKeys = new TreeMap<>();
    final Map<String, SessionRecord> sessions = new HashMap<>();
    private int handedOut;
    private int messageIds;

    record Sent(String clientMessageId, byte[] envelope) {
    }

    Device(String user, String name, Entropy entropy) {
        this.user = user;
        this.name = name;
        this.entropy = entropy;
        this.identity = DeviceIdentity.generate(entropy);
        this.signedPreKey = SignedPreKey.generate(identity, 7, 1_000, entropy);
        for (int i = 1; i <= 20; i++) {
            oneTimePreKeys.put(i, OneTimePreKey.generate(i, entropy));
        }
    }

    /** What the server hands out: the next one-time pre-key, once. */
    RemoteBundle bundle() {
        handedOut++;
        return RemoteBundle.of(user, name, identity, signedPreKey, oneTimePreKeys.get(handedOut));
    }

    String address() {
        return user + "/" + name;
    }

    Sent send(Device to, String text) {
        SessionRecord r = sessions.get(to.address());
        if (r == null) {
            r = SessionRecord.initiate(identity, to.bundle(), entropy);
        }
        String id = name + "-" + (++messageIds);
        SessionRecord.Encrypted e = r.encrypt(new Conversation(user, name, to.user, id), new Target(to.user, to.name),
                text.getBytes(StandardCharsets.UTF_8), entropy);
        sessions.put(to.address(), e.updated());
        return new Sent(id, e.envelope());
    }

    String receive(Device from, Sent m) {
        return receive(from, m.clientMessageId(), m.envelope());
    }

    SessionCipher.Decrypted decrypt(Device from, String clientMessageId, byte[] envelope) {
        return SessionCipher.decrypt(identity, Optional.ofNullable(sessions.get(from.address())), this,
                new Conversation(from.user, from.name, user, clientMessageId), new Target(user, name), envelope);
    }

    String receive(Device from, String clientMessageId, byte[] envelope) {
        SessionCipher.Decrypted d = decrypt(from, clientMessageId, envelope);
        sessions.put(from.address(), d.updated());
        d.usedOneTimePreKeyId().ifPresent(oneTimePreKeys::remove);
        return new String(d.plaintext(), StandardCharsets.UTF_8);
    }

    @Override
    public Optional<SignedPreKey> signedPreKey(int id) {
        return id == signedPreKey.id() ? Optional.of(signedPreKey) : Optional.empty();
    }

    @Override
    public Optional<OneTimePreKey> oneTimePreKey(int id) {
        return Optional.ofNullable(oneTimePreKeys.get(id));
    }
}
