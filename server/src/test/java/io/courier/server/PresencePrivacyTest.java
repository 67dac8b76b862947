package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Presence;
import io.courier.transport.proto.PresenceQuery;
import io.courier.transport.proto.PresenceSubscribe;
import io.courier.transport.proto.PrivacySettings;
import io.courier.transport.proto.PrivacyUpdate;
import io.courier.transport.proto.Visibility;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Presence privacy through the real server over TCP, on its default (durable) storage: settings
 * are honoured by queries and subscriptions, and survive a restart.
 */
class PresencePrivacyTest {

    @TempDir
    Path dataDir;

    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));

    @Test
    void shouldHonourPrivacyForQueriesAndSubscriptionsAndKeepItAcrossARestart() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir, clock)) {
            TestClient alice = fixture.user("alice").connect();
            TestClient bob = fixture.user("bob").connect();
            PrivacySettings settings = update(bob, 1, PrivacyUpdate.newBuilder()
                .setVisibility(Visibility.VISIBILITY_CONTACTS).addAddContacts("carol"));
            assertThat(settings.getContactsList()).containsExactly("carol");

            // Hidden from alice: the same bytes as a user never seen.
            assertThat(query(alice, 2, "bob").toByteArray())
                .isEqualTo(Presence.newBuilder().setUser("bob").build().toByteArray());

            alice.raw(Frame.newBuilder().setRequestId(3).setPresenceSubscribe(PresenceSubscribe.newBuilder()
                .addUsers("bob").addUsers("carol")).build());
            assertThat(next(alice).getPresence()).isEqualTo(Presence.newBuilder().setUser("bob").build());
            assertThat(next(alice).getPresence()).isEqualTo(Presence.newBuilder().setUser("carol").build());

            TestClient carol = fixture.user("carol").connect();
            Frame carolOnline = next(alice);
            assertThat(carolOnline.getRequestId()).isZero();
            assertThat(carolOnline.getPresence().getUser()).isEqualTo("carol");
            assertThat(carolOnline.getPresence().getOnline()).isTrue();

            update(bob, 4, PrivacyUpdate.newBuilder().addAddContacts("alice"));
            Frame bobVisible = next(alice);
            assertThat(bobVisible.getRequestId()).isZero();
            assertThat(bobVisible.getPresence().getUser()).isEqualTo("bob");
            assertThat(bobVisible.getPresence().getOnline()).isTrue();
            assertThat(query(carol, 5, "bob").getOnline()).isTrue();
        }

        try (ServerFixture restarted = new ServerFixture(dataDir, clock)) {
            TestClient bob = restarted.user("bob").connect();
            assertThat(update(bob, 1, PrivacyUpdate.newBuilder())).isEqualTo(PrivacySettings.newBuilder()
                .setVisibility(Visibility.VISIBILITY_CONTACTS).addContacts("alice").addContacts("carol").build());
            TestClient dave = restarted.user("dave").connect();
            assertThat(query(dave, 2, "bob")).isEqualTo(Presence.newBuilder().setUser("bob").build());
        }
    }

    private static PrivacySettings update(TestClient client, long requestId, PrivacyUpdate.Builder update)
        throws Exception {
        client.raw(Frame.newBuilder().setRequestId(requestId).setPrivacyUpdate(update).build());
        Frame answer = next(client);
        assertThat(answer.getRequestId()).isEqualTo(requestId);
        assertThat(answer.hasPrivacySettings()).as("%s", answer).isTrue();
        return answer.getPrivacySettings();
    }

    private static Presence query(TestClient client, long requestId, String user) throws Exception {
        client.raw(Frame.newBuilder().setRequestId(requestId).setPresenceQuery(PresenceQuery.newBuilder().setUser(user))
            .build());
        Frame answer = next(client);
        assertThat(answer.getRequestId()).isEqualTo(requestId);
        assertThat(answer.hasPresence()).as("%s", answer).isTrue();
        return answer.getPresence();
    }

    private static Frame next(TestClient client) throws Exception {
        Frame frame = client.others.poll(TestClient.TIMEOUT_SECONDS, SECONDS);
        assertThat(frame).as("a frame for %s", client.user).isNotNull();
        return frame;
    }
}
