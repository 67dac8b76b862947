package io.courier.client.internal;

import com.google.protobuf.ByteString;
import io.courier.client.Encryption;
import io.courier.client.Message;
import io.courier.client.crypto.Conversation;
import io.courier.client.crypto.DeviceIdentity;
import io.courier.client.crypto.E2eException;
import io.courier.client.crypto.Entropy;
import io.courier.client.crypto.Envelope;
import io.courier.client.crypto.MediaKeyInfo;
import io.courier.client.crypto.OneTimePreKey;
import io.courier.client.crypto.PlainMessage;
import io.courier.client.crypto.PreKeyLookup;
import io.courier.client.crypto.Reason;
import io.courier.client.crypto.RemoteBundle;
import io.courier.client.crypto.SafetyNumber;
import io.courier.client.crypto.SessionCipher;
import io.courier.client.crypto.SessionRecord;
import io.courier.client.crypto.SharedKeyCipher;
import io.courier.client.crypto.SignedPreKey;
import io.courier.client.crypto.Target;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.KeyBundlePublish;
import io.courier.transport.proto.KeyBundles;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * End-to-end encryption on the client's thread (docs/E2E.md): this device's keys and their
 * publication, sessions with the devices it writes to, the encryption of outgoing messages and the
 * decryption of incoming ones. It writes to the {@link Store} inside the caller's transaction, so
 * a session record is always committed together with the message it was used for, and networking
 * stays with {@link ClientEngine}.
 */
final class EndToEnd {

    /** One-time pre-keys made and published at a time (E2E.md section 2). */
    static final int PRE_KEYS_PER_PUBLISH = 100;
    /** The server keeps at most this many one-time pre-keys per device (router.max-one-time-pre-keys). */
    static final int MAX_PRE_KEYS_ON_SERVER = 1000;
    /** A signed pre-key is replaced after this long. */
    static final long ROTATE_AFTER_MS = 7L * 24 * 60 * 60 * 1000;
    /** The private half of a replaced signed pre-key is kept this long after it was replaced. */
    static final long KEEP_REPLACED_MS = 30L * 24 * 60 * 60 * 1000;

    private static final String NEXT_SPK_ID = "e2e_last_signed_pre_key_id";
    private static final String NEXT_OPK_ID = "e2e_last_one_time_pre_key_id";

    /** A KeyBundlePublish sent and not yet answered: what it made known to the server. */
    record Publish(KeyBundlePublish frame, int signedPreKeyId, List<Integer> oneTimePreKeyIds) {
    }

    /** What an outgoing message needs before it can be sent. */
    sealed interface Preparation {
    }

    /** Its ciphertexts are stored: send it. */
    record Ready(Encryption encryption, Map<Store.DeviceKey, byte[]> payloads) implements Preparation {
    }

    /** Plain: send it as it is. */
    record Plain() implements Preparation {
    }

    /** Key bundles to fetch first: per user, the devices (empty: every device of a user never fetched). */
    record Fetch(Map<String, Set<String>> devices) implements Preparation {
    }

    /** It cannot be encrypted: it fails with this code and text. */
    record Refused(String code, String text) implements Preparation {
    }

    /** An arrived message, decrypted or not. */
    record Decryption(Encryption encryption, String contentType, byte[] body, MediaKeyInfo media, Reason failure,
                      boolean identityChanged) {
    }

    private final Store store;
    private final EngineSettings settings;
    private final Entropy entropy;
    private DeviceIdentity identity;
    private long signedPreKeyCreatedMs;
    /** Devices a STALE_DEVICES named as missing, or whose bundle was forged: to fetch before encrypting. */
    private final Map<String, Set<String>> missing = new LinkedHashMap<>();
    /** Devices whose last fetched bundle did not verify: never encrypted to. */
    private final Set<Store.DeviceKey> forged = new LinkedHashSet<>();
    /** Users fetched while the message at the head of the outbox waited for them. */
    private final Set<String> fetchedForMessage = new LinkedHashSet<>();

    EndToEnd(Store store, EngineSettings settings, Entropy entropy) {
        this.store = store;
        this.settings = settings;
        this.entropy = entropy;
    }

    /**
     * Loads this device's identity, creating it (with a signed pre-key and a first batch of
     * one-time pre-keys) when the client encrypts in Signal mode and has none yet.
     */
    void open(long nowMs) throws SQLException {
        byte[] stored = store.identity();
        if (stored != null) {
            identity = DeviceIdentity.fromBytes(stored);
        } else if (settings.encryption() == Encryption.SIGNAL) {
            identity = DeviceIdentity.generate(entropy);
            store.saveIdentity(identity.toBytes());
            newSignedPreKey(nowMs);
            newOneTimePreKeys(PRE_KEYS_PER_PUBLISH);
        }
        Store.StoredPreKey current = store.currentSignedPreKey();
        signedPreKeyCreatedMs = current == null ? 0 : current.createdMs();
    }

    boolean hasIdentity() {
        return identity != null;
    }

    boolean publishes() {
        return identity != null && settings.encryption() == Encryption.SIGNAL;
    }

    /** True when the current signed pre-key is due for replacement at {@code nowMs}. */
    boolean rotationDue(long nowMs) {
        return publishes() && nowMs - signedPreKeyCreatedMs >= ROTATE_AFTER_MS;
    }

    private SignedPreKey newSignedPreKey(long nowMs) throws SQLException {
        int id = store.counter(NEXT_SPK_ID) + 1;
        store.setCounter(NEXT_SPK_ID, id);
        SignedPreKey spk = SignedPreKey.generate(identity, id, nowMs, entropy);
        store.insertSignedPreKey(id, spk.toBytes(), nowMs);
        signedPreKeyCreatedMs = nowMs;
        return spk;
    }

    private void newOneTimePreKeys(int count) throws SQLException {
        int last = store.counter(NEXT_OPK_ID);
        for (int i = 1; i <= count; i++) {
            store.insertOneTimePreKey(last + i, OneTimePreKey.generate(last + i, entropy).toBytes());
        }
        store.setCounter(NEXT_OPK_ID, last + count);
    }

    /**
     * The publish this device owes the server at {@code nowMs}, or null: the first one, one after a
     * rotation of the signed pre-key (done here when due), or one carrying one-time pre-keys not
     * published yet. Erases replaced signed pre-keys past their 30 days.
     */
    Publish publishDue(long nowMs) throws SQLException {
        if (!publishes()) {
            return null;
        }
        if (rotationDue(nowMs)) {
            newSignedPreKey(nowMs);
        }
        store.eraseSignedPreKeysReplacedBefore(nowMs - KEEP_REPLACED_MS);
        SignedPreKey current = SignedPreKey.fromBytes(store.currentSignedPreKey().record());
        List<byte[]> unpublished = store.unpublishedOneTimePreKeys(PRE_KEYS_PER_PUBLISH);
        Integer published = store.publishedSignedPreKey();
        if (published != null && published == current.id() && unpublished.isEmpty()) {
            return null;
        }
        KeyBundlePublish.Builder frame = KeyBundlePublish.newBuilder()
            .setIdentityKey(ByteString.copyFrom(identity.identityKey()))
            .setIdentityDhKey(ByteString.copyFrom(identity.identityDhKey()))
            .setIdentityDhSignature(ByteString.copyFrom(identity.identityDhSignature()))
            .setAgreementKey(ByteString.copyFrom(current.keys().publicKey()))
            .setSignature(ByteString.copyFrom(current.signature()))
            .setSignedPreKeyId(current.id());
        List<Integer> ids = new ArrayList<>();
        for (byte[] record : unpublished) {
            OneTimePreKey opk = OneTimePreKey.fromBytes(record);
            ids.add(opk.id());
            frame.addOneTimePreKeys(io.courier.transport.proto.OneTimePreKey.newBuilder().setId(opk.id())
                .setPublicKey(ByteString.copyFrom(opk.keys().publicKey())));
        }
        return new Publish(frame.build(), current.id(), ids);
    }

    /** True when the server has this device's current keys: nothing is due at {@code nowMs}. */
    boolean publishedAll(long nowMs) throws SQLException {
        Store.StoredPreKey current = store.currentSignedPreKey();
        Integer published = store.publishedSignedPreKey();
        return publishes() && current != null && published != null && published == current.id()
            && !rotationDue(nowMs) && store.unpublishedOneTimePreKeys(1).isEmpty();
    }

    /** The server stored {@code publish}. */
    void published(Publish publish) throws SQLException {
        store.setPublishedSignedPreKey(publish.signedPreKeyId());
        store.markOneTimePreKeysPublished(publish.oneTimePreKeyIds());
    }

    /** The server has {@code remaining} one-time pre-keys left: makes a batch more, within its limit. */
    void replenish(int remaining) throws SQLException {
        if (!publishes() || !store.unpublishedOneTimePreKeys(1).isEmpty()) {
            return;
        }
        newOneTimePreKeys(Math.min(PRE_KEYS_PER_PUBLISH, Math.max(0, MAX_PRE_KEYS_ON_SERVER - remaining)));
    }

    /** Whether messages to {@code conversation} are encrypted, and how. */
    Encryption modeFor(String conversation) throws SQLException {
        if (store.sharedKey(conversation) != null) {
            return Encryption.SHARED_KEY;
        }
        return publishes() ? Encryption.SIGNAL : Encryption.NONE;
    }

    void setSharedKey(String conversation, byte[] key, long nowMs) throws SQLException {
        store.addSharedKey(conversation, SharedKeyCipher.keyId(key), key.clone(), nowMs);
    }

    // ---------------------------------------------------------------- outgoing

    /**
     * Makes sure {@code m}'s ciphertexts are stored, encrypting (and storing the session records
     * that did it) for every receiving device that has none yet; or says what must be fetched
     * first. Writes in the caller's transaction.
     */
    Preparation prepare(Message m, MediaKeyInfo media) throws SQLException {
        Integer ready = store.e2eReady(m.localId());
        if (ready != null && ready == 1) {
            return new Ready(m.encryption(), store.outboxPayloads(m.localId()));
        }
        Encryption mode = ready != null ? m.encryption() : modeFor(m.recipient());
        if (mode == Encryption.NONE) {
            return new Plain();
        }
        Conversation conversation = new Conversation(m.sender(), m.senderDevice(), m.recipient(), m.clientId());
        byte[] plaintext = new PlainMessage(m.contentType(), m.payload(), Optional.ofNullable(media)).encode();
        if (mode == Encryption.SHARED_KEY) {
            byte[] key = store.sharedKey(m.recipient());
            if (key == null) {
                return new Refused(Reason.NO_KEY.name(), "The shared key of the conversation with " + m.recipient()
                    + " is gone");
            }
            store.addOutboxPayload(m.localId(), "", "", SharedKeyCipher.encrypt(key, conversation, plaintext, entropy));
            store.setE2eReady(m.localId(), 1, Encryption.SHARED_KEY);
            return new Ready(Encryption.SHARED_KEY, store.outboxPayloads(m.localId()));
        }
        if (!publishes()) {
            return new Refused(Reason.NO_SESSION.name(), "This client no longer encrypts in Signal mode, and the "
                + "message was meant to be");
        }
        // The devices to encrypt for: every known device of the recipient and of this user (this
        // device excepted), and those the server said were missing.
        Map<String, Set<String>> fetch = new LinkedHashMap<>();
        Set<Store.DeviceKey> targets = new java.util.TreeSet<>(
            java.util.Comparator.comparing(Store.DeviceKey::user).thenComparing(Store.DeviceKey::device));
        for (String user : new LinkedHashSet<>(List.of(m.recipient(), settings.user()))) {
            // A user never fetched is fetched whole; so is a recipient with no device known yet
            // (they may have published since), once per message. This user's other devices that
            // appear later are named by the server's STALE_DEVICES.
            boolean recipientUnknown = user.equals(m.recipient()) && !user.equals(settings.user())
                && store.identityKeys(user).isEmpty() && !fetchedForMessage.contains(user);
            if (!store.wasFetched(user) || recipientUnknown) {
                fetch.put(user, new TreeSet<>());
                continue;
            }
            Set<String> devices = new TreeSet<>(store.identityKeys(user).keySet());
            devices.addAll(missing.getOrDefault(user, Set.of()));
            for (String device : devices) {
                if (user.equals(settings.user()) && device.equals(settings.device())) {
                    continue;
                }
                Store.DeviceKey target = new Store.DeviceKey(user, device);
                if (forged.contains(target)) {
                    fetchedForMessage.clear();
                    return new Refused(Reason.FORGED_PRE_KEY.name(), "The key bundle of device " + device + " of "
                        + user + " has a signature that does not verify: nothing is encrypted to it");
                }
                if (store.session(user, device) == null) {
                    fetch.computeIfAbsent(user, u -> new TreeSet<>()).add(device);
                }
                targets.add(target);
            }
        }
        if (!fetch.isEmpty()) {
            return new Fetch(fetch);
        }
        fetchedForMessage.clear();
        if (targets.isEmpty()) {
            return new Refused(Reason.NO_SESSION.name(), m.recipient() + " has no device with published keys, so "
                + "the message cannot be encrypted for anyone (does their client encrypt?)");
        }
        Map<Store.DeviceKey, byte[]> have = store.outboxPayloads(m.localId());
        for (Store.DeviceKey target : targets) {
            if (have.containsKey(target)) {
                continue;
            }
            SessionRecord session = SessionRecord.fromBytes(store.session(target.user(), target.device()));
            var encrypted = session.encrypt(conversation, new Target(target.user(), target.device()), plaintext,
                entropy);
            store.addOutboxPayload(m.localId(), target.user(), target.device(), encrypted.envelope());
            store.saveSession(target.user(), target.device(), encrypted.updated().toBytes());
        }
        store.setE2eReady(m.localId(), 1, Encryption.SIGNAL);
        return new Ready(Encryption.SIGNAL, store.outboxPayloads(m.localId()));
    }

    /**
     * The server refused a send with STALE_DEVICES: forgets the ciphertexts of the extra devices
     * (and the devices themselves), and marks the missing ones, and those whose identity key
     * changed (their ciphertexts and sessions forgotten), to be fetched and encrypted for.
     * True when a user's devices changed (the caller announces the new safety number).
     */
    Set<String> stale(Message m, List<Store.DeviceKey> missingDevices, List<Store.DeviceKey> extraDevices,
                      List<Store.DeviceKey> changedDevices) throws SQLException {
        Set<String> changed = new LinkedHashSet<>();
        for (Store.DeviceKey reinstalled : changedDevices) {
            // Its identity key is not the one encrypted for: forget the ciphertext and the session,
            // keep the known key, and fetch it again; the fetch finds the new key and says the
            // safety number changed before anything is encrypted for it.
            store.deleteOutboxPayload(m.localId(), reinstalled.user(), reinstalled.device());
            store.deleteSession(reinstalled.user(), reinstalled.device());
            missing.computeIfAbsent(reinstalled.user(), u -> new TreeSet<>()).add(reinstalled.device());
        }
        for (Store.DeviceKey extra : extraDevices) {
            store.deleteOutboxPayload(m.localId(), extra.user(), extra.device());
            if (store.identityKeys(extra.user()).containsKey(extra.device())) {
                store.deleteIdentityKey(extra.user(), extra.device());
                store.deleteSession(extra.user(), extra.device());
                changed.add(extra.user());
            }
            Set<String> wanted = missing.get(extra.user());
            if (wanted != null) {
                wanted.remove(extra.device());
            }
        }
        for (Store.DeviceKey add : missingDevices) {
            missing.computeIfAbsent(add.user(), u -> new TreeSet<>()).add(add.device());
        }
        store.setE2eReady(m.localId(), 0, Encryption.SIGNAL);
        changed.remove(settings.user());
        return changed;
    }

    /**
     * Takes the answer to a fetch of {@code user}'s devices ({@code asked} empty: all of them):
     * checks each bundle's signatures, compares its identity key with the one known (trust on first
     * use), and starts a session with each device that has none, or whose key changed. True when
     * the user's safety number changed.
     */
    boolean fetched(String user, Set<String> asked, List<KeyBundles.Bundle> bundles) throws SQLException {
        boolean firstTime = !store.wasFetched(user);
        Map<String, byte[]> known = store.identityKeys(user);
        boolean changed = false;
        Set<String> seen = new TreeSet<>();
        for (KeyBundles.Bundle b : bundles) {
            if (user.equals(settings.user()) && b.getDevice().equals(settings.device())) {
                continue;
            }
            seen.add(b.getDevice());
            Store.DeviceKey device = new Store.DeviceKey(user, b.getDevice());
            RemoteBundle bundle;
            try {
                bundle = new RemoteBundle(user, b.getDevice(), b.getIdentityKey().toByteArray(),
                    b.getIdentityDhKey().toByteArray(), b.getIdentityDhSignature().toByteArray(), b.getSignedPreKeyId(),
                    b.getAgreementKey().toByteArray(), b.getSignature().toByteArray(),
                    b.hasOneTimePreKey() ? b.getOneTimePreKey().getId() : null,
                    b.hasOneTimePreKey() ? b.getOneTimePreKey().getPublicKey().toByteArray() : null);
                bundle.verify();
            } catch (RuntimeException e) {
                // A signature that does not verify, or keys of the wrong length: never encrypted to.
                forged.add(device);
                missing.computeIfAbsent(user, u -> new TreeSet<>()).add(b.getDevice());
                continue;
            }
            forged.remove(device);
            Set<String> wanted = missing.get(user);
            if (wanted != null) {
                wanted.remove(b.getDevice());
            }
            byte[] before = known.get(b.getDevice());
            boolean same = before != null && Arrays.equals(before, bundle.identityKey());
            if (same && store.session(user, b.getDevice()) != null) {
                continue; // a session with this very key exists: the fetched one-time pre-key goes unused
            }
            // A known device with another key, or a device more for a user whose devices were known;
            // the first devices seen of a user are trusted as they are.
            if (!same && (before != null || (!firstTime && !known.isEmpty()))) {
                changed = true;
            }
            SessionRecord session;
            try {
                session = SessionRecord.initiate(identity, bundle, entropy);
            } catch (RuntimeException e) {
                // A low-order or malformed key: as unusable as a forged bundle.
                forged.add(device);
                missing.computeIfAbsent(user, u -> new TreeSet<>()).add(b.getDevice());
                continue;
            }
            store.saveIdentityKey(user, b.getDevice(), bundle.identityKey());
            store.saveSession(user, b.getDevice(), session.toBytes());
        }
        if (asked.isEmpty()) {
            // Every device with a bundle was in the answer: the others are gone.
            for (String device : known.keySet()) {
                if (!seen.contains(device) && !forged.contains(new Store.DeviceKey(user, device))) {
                    store.deleteIdentityKey(user, device);
                    store.deleteSession(user, device);
                    changed = true;
                }
            }
        } else {
            // A device asked for by name and not in the answer has no bundle (any more).
            Set<String> wanted = missing.get(user);
            for (String device : asked) {
                if (!seen.contains(device) && wanted != null) {
                    wanted.remove(device);
                }
            }
        }
        store.markFetched(user);
        fetchedForMessage.add(user);
        return changed && !user.equals(settings.user());
    }

    // ---------------------------------------------------------------- incoming

    /**
     * Decrypts an arrived message (not yet stored), storing the session record it updated and
     * erasing the one-time pre-key it used, in the caller's transaction. A failure is returned,
     * never thrown: the message is then stored undecryptable.
     */
    Decryption decrypt(Deliver d) throws SQLException {
        byte[] envelope = d.getPayload().toByteArray();
        Conversation conversation = new Conversation(d.getSender(), d.getSenderDevice(), d.getRecipient(),
            d.getClientMessageId());
        Encryption mode = Encryption.SIGNAL;
        try {
            Envelope.Type type = Envelope.type(envelope);
            mode = type == Envelope.Type.SHARED_KEY ? Encryption.SHARED_KEY : Encryption.SIGNAL;
            byte[] plaintext;
            boolean changed = false;
            if (type == Envelope.Type.SHARED_KEY) {
                plaintext = SharedKeyCipher.decrypt(keyId -> {
                    try {
                        return Optional.ofNullable(store.sharedKeyById(keyId));
                    } catch (SQLException e) {
                        throw new IllegalStateException(e);
                    }
                }, conversation, envelope);
            } else {
                if (identity == null) {
                    throw new E2eException(Reason.NO_SESSION, "This device has no identity: it does not encrypt in "
                        + "Signal mode");
                }
                byte[] stored = store.session(d.getSender(), d.getSenderDevice());
                var decrypted = SessionCipher.decrypt(identity,
                    Optional.ofNullable(stored).map(SessionRecord::fromBytes), preKeys(),
                    conversation, new Target(settings.user(), settings.device()), envelope);
                plaintext = decrypted.plaintext();
                store.saveSession(d.getSender(), d.getSenderDevice(), decrypted.updated().toBytes());
                if (decrypted.usedOneTimePreKeyId().isPresent()) {
                    store.deleteOneTimePreKey(decrypted.usedOneTimePreKeyId().getAsInt());
                }
                changed = senderIdentity(d.getSender(), d.getSenderDevice(), decrypted.senderIdentityKey());
            }
            PlainMessage plain = PlainMessage.decode(plaintext);
            return new Decryption(mode, plain.contentType(), plain.body(), plain.media().orElse(null), null, changed);
        } catch (E2eException e) {
            return new Decryption(mode, d.getContentType(), envelope, null, e.reason(), false);
        } catch (IllegalStateException e) {
            if (e.getCause() instanceof SQLException sql) {
                throw sql;
            }
            return new Decryption(mode, d.getContentType(), envelope, null, Reason.MALFORMED, false);
        } catch (RuntimeException e) {
            // Whatever a sender put in the envelope, one message must not stop the client: a field
            // the crypto core refuses as such (a key of the wrong length, say) is malformed.
            return new Decryption(mode, d.getContentType(), envelope, null, Reason.MALFORMED, false);
        }
    }

    private PreKeyLookup preKeys() {
        return new PreKeyLookup() {
            @Override
            public Optional<SignedPreKey> signedPreKey(int id) {
                try {
                    byte[] record = store.signedPreKey(id);
                    return Optional.ofNullable(record).map(SignedPreKey::fromBytes);
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            }

            @Override
            public Optional<OneTimePreKey> oneTimePreKey(int id) {
                try {
                    byte[] record = store.oneTimePreKey(id);
                    return Optional.ofNullable(record).map(OneTimePreKey::fromBytes);
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            }
        };
    }

    /** Records the identity key a message came with; true when it differs from the one known. */
    private boolean senderIdentity(String user, String device, byte[] key) throws SQLException {
        Map<String, byte[]> known = store.identityKeys(user);
        byte[] before = known.get(device);
        if (before != null && Arrays.equals(before, key)) {
            return false;
        }
        store.saveIdentityKey(user, device, key);
        // A new key for a known device, or a new device of a user whose devices were known.
        boolean changed = before != null || (store.wasFetched(user) && !known.isEmpty());
        return changed && !user.equals(settings.user());
    }

    // ---------------------------------------------------------------- safety numbers

    /**
     * The safety number of this user and {@code user} over the identity keys this device knows, or
     * null when it knows no device of {@code user} with keys.
     */
    String safetyNumber(String user) throws SQLException {
        if (identity == null) {
            throw new IllegalStateException("This client has no identity key: build it with encryption(SIGNAL)");
        }
        List<byte[]> mine = new ArrayList<>(store.identityKeys(settings.user()).values());
        mine.add(identity.identityKey());
        List<byte[]> theirs = new ArrayList<>(store.identityKeys(user).values());
        if (user.equals(settings.user())) {
            theirs = mine;
        }
        if (theirs.isEmpty()) {
            return null; // no device of theirs has keys: there is nothing to compare
        }
        return SafetyNumber.of(settings.user(), mine, user, theirs);
    }
}
