package io.courier.router.internal;

import com.google.protobuf.ByteString;
import io.courier.storage.DeviceId;
import io.courier.storage.KeyBundle;
import io.courier.storage.KeyStore;
import io.courier.transport.Frames;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.KeyBundlePublish;
import io.courier.transport.proto.KeyBundles;

/**
 * Key bundle frames: publish and fetch. Each is checked on the I/O thread it arrives on; what
 * needs storage runs on the {@link StorageReader} and answers from there, with the request id of
 * the frame it answers. (Presence frames are {@link PresenceService}'s.)
 */
public final class PresenceAndKeys {

    private final StorageReader reader;
    private final KeyStore keys;
    private final RouterMetrics metrics;

    public PresenceAndKeys(StorageReader reader, KeyStore keys, RouterMetrics metrics) {
        this.reader = reader;
        this.keys = keys;
        this.metrics = metrics;
    }

    /** Stores the device's bundle, replacing its previous one; answered with an empty KeyBundles. */
    public void publish(Session session, Frame frame) {
        KeyBundlePublish publish = frame.getKeyBundlePublish();
        if (publish.getAgreementKey().isEmpty() || publish.getIdentityKey().isEmpty()) {
            invalid(session, "A key bundle needs an identity key and an agreement key", frame);
            return;
        }
        KeyBundle bundle = new KeyBundle(publish.getIdentityKey().toByteArray(), publish.getAgreementKey().toByteArray(),
            publish.getSignature().toByteArray());
        reader.call(session, frame, () -> {
            keys.publish(session.device(), bundle);
            session.connection().send(Frame.newBuilder().setRequestId(frame.getRequestId())
                .setKeyBundles(KeyBundles.newBuilder().setUser(session.device().user())).build());
        });
    }

    /** Every device's bundle of the user asked for. */
    public void fetch(Session session, Frame frame) {
        String user = frame.getKeyBundleFetch().getUser();
        if (!DeviceId.isValidId(user)) {
            invalid(session, "Key fetch for malformed user " + Frames.quote(user), frame);
            return;
        }
        reader.call(session, frame, () -> {
            KeyBundles.Builder answer = KeyBundles.newBuilder().setUser(user);
            keys.bundles(user).forEach((device, bundle) -> answer.addBundles(KeyBundles.Bundle.newBuilder()
                .setDevice(device)
                .setIdentityKey(ByteString.copyFrom(bundle.identityKey()))
                .setAgreementKey(ByteString.copyFrom(bundle.agreementKey()))
                .setSignature(ByteString.copyFrom(bundle.signature()))));
            session.connection().send(Frame.newBuilder().setRequestId(frame.getRequestId()).setKeyBundles(answer).build());
        });
    }

    private void invalid(Session session, String text, Frame frame) {
        session.connection().send(Frames.error(Error.Code.INVALID_ARGUMENT, text, frame.getRequestId()));
        metrics.error(Error.Code.INVALID_ARGUMENT);
    }
}
