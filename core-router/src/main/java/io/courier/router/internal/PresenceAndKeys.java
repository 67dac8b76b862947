package io.courier.router.internal;

import com.google.protobuf.ByteString;
import io.courier.router.RouterConfig;
import io.courier.storage.DeviceId;
import io.courier.storage.KeyBundle;
import io.courier.storage.KeyStore;
import io.courier.storage.OneTimePreKey;
import io.courier.transport.Frames;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.KeyBundleFetch;
import io.courier.transport.proto.KeyBundlePublish;
import io.courier.transport.proto.KeyBundles;
import io.courier.transport.proto.PreKeysLow;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Key bundle frames: publish and fetch, and the PreKeysLow notices that follow from them. Each is
 * checked on the I/O thread it arrives on; what needs storage runs on the {@link StorageReader}
 * and answers from there, with the request id of the frame it answers. Publishes and fetches add
 * what they stored or read to {@link BundleDevices} before they answer, so the writer's check of
 * encrypted sends agrees with what clients were told. (Presence frames are {@link PresenceService}'s.)
 */
public final class PresenceAndKeys {

    private static final Logger LOG = LoggerFactory.getLogger(PresenceAndKeys.class);
    /** Ed25519 and X25519 public keys. */
    static final int KEY_BYTES = 32;
    /** Ed25519 signatures. */
    static final int SIGNATURE_BYTES = 64;

    private final StorageReader reader;
    private final KeyStore keys;
    private final BundleDevices bundleDevices;
    private final SessionTable sessions;
    private final RouterMetrics metrics;
    private final int maxPerPublish;
    private final int maxSupply;
    private final int low;
    private final int maxDevicesPerUser;

    public PresenceAndKeys(StorageReader reader, KeyStore keys, BundleDevices bundleDevices, SessionTable sessions,
                           RouterMetrics metrics, RouterConfig config) {
        this.reader = reader;
        this.keys = keys;
        this.bundleDevices = bundleDevices;
        this.sessions = sessions;
        this.metrics = metrics;
        this.maxPerPublish = config.maxOneTimePreKeysPerPublish();
        this.maxSupply = config.maxOneTimePreKeys();
        this.low = config.oneTimePreKeysLow();
        this.maxDevicesPerUser = config.maxDevicesPerUser();
    }

    /**
     * Stores the device's bundle, replacing its previous one, and adds its one-time pre-keys to
     * its supply; answered with a KeyBundles naming the user and the device's remaining supply.
     */
    public void publish(Session session, Frame frame) {
        KeyBundlePublish publish = frame.getKeyBundlePublish();
        String wrong = invalidPublish(publish);
        if (wrong != null) {
            invalid(session, wrong + "; nothing was changed", frame);
            return;
        }
        KeyBundle bundle = new KeyBundle(publish.getIdentityKey().toByteArray(), publish.getAgreementKey().toByteArray(),
            publish.getSignature().toByteArray(), publish.getIdentityDhKey().toByteArray(),
            publish.getIdentityDhSignature().toByteArray(), publish.getSignedPreKeyId());
        List<OneTimePreKey> preKeys = new ArrayList<>(publish.getOneTimePreKeysCount());
        for (io.courier.transport.proto.OneTimePreKey key : publish.getOneTimePreKeysList()) {
            preKeys.add(new OneTimePreKey(key.getId(), key.getPublicKey().toByteArray()));
        }
        DeviceId device = session.device();
        reader.call(session, frame, () -> {
            OptionalInt remaining = keys.publish(device, bundle, preKeys, maxSupply);
            if (remaining.isEmpty()) {
                invalid(session, "Publishing " + preKeys.size() + " one-time pre-keys would give device " + device
                    + " more than router.max-one-time-pre-keys = " + maxSupply + "; nothing was changed: publish"
                    + " fewer (the answer to each publish says how many the server has)", frame);
                return;
            }
            // Before the answer: the publisher's next send is checked against this bundle.
            bundleDevices.published(device, bundle.identityKey());
            session.connection().send(Frame.newBuilder().setRequestId(frame.getRequestId())
                .setKeyBundles(KeyBundles.newBuilder().setUser(device.user())
                    .setOneTimePreKeysRemaining(remaining.getAsInt())).build());
        });
    }

    /** What is wrong with {@code publish}, or null when nothing is. */
    private String invalidPublish(KeyBundlePublish publish) {
        if (publish.getIdentityKey().isEmpty() || publish.getAgreementKey().isEmpty()) {
            return "A key bundle needs an identity key and an agreement key";
        }
        String wrong = size("identity_key", publish.getIdentityKey(), KEY_BYTES, false);
        wrong = wrong != null ? wrong : size("agreement_key", publish.getAgreementKey(), KEY_BYTES, false);
        wrong = wrong != null ? wrong : size("signature", publish.getSignature(), SIGNATURE_BYTES, true);
        wrong = wrong != null ? wrong : size("identity_dh_key", publish.getIdentityDhKey(), KEY_BYTES, true);
        wrong = wrong != null ? wrong
            : size("identity_dh_signature", publish.getIdentityDhSignature(), SIGNATURE_BYTES, true);
        if (wrong != null) {
            return wrong;
        }
        if (publish.getOneTimePreKeysCount() > maxPerPublish) {
            return "A key bundle publish carries " + publish.getOneTimePreKeysCount()
                + " one-time pre-keys, above router.max-one-time-pre-keys-per-publish = " + maxPerPublish;
        }
        for (io.courier.transport.proto.OneTimePreKey key : publish.getOneTimePreKeysList()) {
            if (key.getPublicKey().size() != KEY_BYTES) {
                return "One-time pre-key " + Integer.toUnsignedString(key.getId()) + " is "
                    + key.getPublicKey().size() + " bytes; X25519 public keys are " + KEY_BYTES;
            }
        }
        return null;
    }

    private static String size(String field, ByteString value, int bytes, boolean mayBeEmpty) {
        if (value.size() == bytes || mayBeEmpty && value.isEmpty()) {
            return null;
        }
        return "KeyBundlePublish." + field + " is " + value.size() + " bytes, must be " + bytes
            + (mayBeEmpty ? " or empty" : "");
    }

    /**
     * The bundles of the user asked for (of the devices asked for, when the fetch names some),
     * each with one of its device's one-time pre-keys, taken from the supply; a device the take
     * leaves below {@code router.one-time-pre-keys-low} is told with PreKeysLow.
     */
    public void fetch(Session session, Frame frame) {
        KeyBundleFetch fetch = frame.getKeyBundleFetch();
        String user = fetch.getUser();
        if (!DeviceId.isValidId(user)) {
            invalid(session, "Key fetch for malformed user " + Frames.quote(user), frame);
            return;
        }
        if (fetch.getDevicesCount() > maxDevicesPerUser) {
            invalid(session, "Key fetch names " + fetch.getDevicesCount() + " devices, above"
                + " router.max-devices-per-user = " + maxDevicesPerUser, frame);
            return;
        }
        for (String device : fetch.getDevicesList()) {
            if (!DeviceId.isValidId(device)) {
                invalid(session, "Key fetch for malformed device " + Frames.quote(device) + " of " + user, frame);
                return;
            }
        }
        Set<String> wanted = fetch.getDevicesCount() == 0 ? null : new HashSet<>(fetch.getDevicesList());
        reader.call(session, frame, () -> {
            List<int[]> lowSupplies = new ArrayList<>();
            Map<String, KeyBundle> bundles = keys.bundles(user);
            KeyBundles.Builder answer = answer(user, bundles, wanted, lowSupplies);
            // Before the answer: a send encrypted for these devices is checked against them.
            bundleDevices.seen(user, bundles);
            session.connection().send(Frame.newBuilder().setRequestId(frame.getRequestId()).setKeyBundles(answer).build());
            for (int i = 0; i < lowSupplies.size(); i++) {
                tellLow(new DeviceId(user, answer.getBundles(lowSupplies.get(i)[0]).getDevice()), lowSupplies.get(i)[1]);
            }
        });
    }

    /** Builds the answer, taking one one-time pre-key per bundle; notes {index, remaining} of each low supply. */
    private KeyBundles.Builder answer(String user, Map<String, KeyBundle> bundles, Set<String> wanted,
                                      List<int[]> lowSupplies) {
        KeyBundles.Builder answer = KeyBundles.newBuilder().setUser(user);
        bundles.forEach((device, bundle) -> {
            if (wanted != null && !wanted.contains(device)) {
                return;
            }
            KeyBundles.Bundle.Builder out = KeyBundles.Bundle.newBuilder()
                .setDevice(device)
                .setIdentityKey(ByteString.copyFrom(bundle.identityKey()))
                .setAgreementKey(ByteString.copyFrom(bundle.agreementKey()))
                .setSignature(ByteString.copyFrom(bundle.signature()))
                .setIdentityDhKey(ByteString.copyFrom(bundle.identityDhKey()))
                .setIdentityDhSignature(ByteString.copyFrom(bundle.identityDhSignature()))
                .setSignedPreKeyId(bundle.signedPreKeyId());
            DeviceId id = new DeviceId(user, device);
            Optional<OneTimePreKey> taken = keys.takeOneTimePreKey(id);
            if (taken.isPresent()) {
                out.setOneTimePreKey(io.courier.transport.proto.OneTimePreKey.newBuilder()
                    .setId(taken.get().id()).setPublicKey(ByteString.copyFrom(taken.get().publicKey())));
                metrics.oneTimePreKeyTaken();
                int remaining = keys.oneTimePreKeyCount(id);
                if (remaining < low) {
                    lowSupplies.add(new int[] {answer.getBundlesCount(), remaining});
                }
            } else {
                metrics.oneTimePreKeysExhausted();
            }
            answer.addBundles(out);
        });
        return answer;
    }

    /**
     * After the Welcome: a device that has a bundle and fewer than {@code router.one-time-pre-keys-low}
     * one-time pre-keys is told with PreKeysLow. On the storage reader; a failed read is logged
     * (the device is told on its next connection or fetch).
     */
    public void welcomed(Session session) {
        DeviceId device = session.device();
        reader.run("the one-time pre-key supply of " + device, () -> {
            if (bundleDevices.of(device.user()).containsKey(device.device())) {
                int remaining = keys.oneTimePreKeyCount(device);
                if (remaining < low) {
                    send(session, remaining);
                }
            }
        });
    }

    private void tellLow(DeviceId device, int remaining) {
        Session session = sessions.get(device);
        if (session != null) {
            send(session, remaining);
        }
    }

    private void send(Session session, int remaining) {
        LOG.debug("Telling {} it has {} one-time pre-keys left", session.device(), remaining);
        metrics.preKeysLow();
        session.connection().send(Frame.newBuilder().setPreKeysLow(PreKeysLow.newBuilder().setRemaining(remaining))
            .build());
    }

    private void invalid(Session session, String text, Frame frame) {
        session.connection().send(Frames.error(Error.Code.INVALID_ARGUMENT, text, frame.getRequestId()));
        metrics.error(Error.Code.INVALID_ARGUMENT);
    }
}
