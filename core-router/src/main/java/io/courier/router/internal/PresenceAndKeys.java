package io.courier.router.internal;

import com.google.protobuf.ByteString;
import io.courier.storage.DeviceId;
import io.courier.storage.KeyBundle;
import io.courier.storage.KeyStore;
import io.courier.storage.PresenceStore;
import io.courier.transport.Frames;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.KeyBundlePublish;
import io.courier.transport.proto.KeyBundles;
import io.courier.transport.proto.Presence;
import java.time.Clock;

/**
 * The frames that ask about users rather than carry messages: presence queries and key bundles.
 * Each is checked on the I/O thread it arrives on; what needs storage runs on the
 * {@link StorageReader} and answers from there, with the request id of the frame it answers.
 */
public final class PresenceAndKeys {

    private final SessionTable sessions;
    private final Sweeper sweeper;
    private final StorageReader reader;
    private final PresenceStore presence;
    private final KeyStore keys;
    private final RouterMetrics metrics;
    private final Clock clock;

    public PresenceAndKeys(SessionTable sessions, Sweeper sweeper, StorageReader reader, PresenceStore presence,
                           KeyStore keys, RouterMetrics metrics, Clock clock) {
        this.sessions = sessions;
        this.sweeper = sweeper;
        this.reader = reader;
        this.presence = presence;
        this.keys = keys;
        this.metrics = metrics;
        this.clock = clock;
    }

    /** Online now, or the last-seen time: the later of what the sweeper has not yet written and the store. */
    public void presence(Session session, Frame frame) {
        String user = frame.getPresenceQuery().getUser();
        if (!DeviceId.isValidId(user)) {
            invalid(session, "Presence query for malformed user " + Frames.quote(user), frame);
            return;
        }
        if (sessions.isOnline(user)) {
            session.connection().send(presenceFrame(frame, user, true, clock.millis()));
            return;
        }
        long unwritten = sweeper.unwrittenLastSeen(user);
        reader.call(session, frame, () -> {
            long seen = Math.max(unwritten, presence.lastSeen(user).orElse(0));
            session.connection().send(presenceFrame(frame, user, false, seen));
        });
    }

    private static Frame presenceFrame(Frame query, String user, boolean online, long lastSeenMs) {
        return Frame.newBuilder().setRequestId(query.getRequestId()).setPresence(Presence.newBuilder()
            .setUser(user).setOnline(online).setLastSeenMs(lastSeenMs)).build();
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
