package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.Receipt.Status;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Acceptance: two users chat over TCP and see single, double and blue ticks, online and offline. */
class ChatTicksTest {

    @TempDir
    Path dataDir;

    private ServerFixture fixture;

    @BeforeEach
    void start() {
        fixture = new ServerFixture(dataDir);
    }

    @AfterEach
    void stop() {
        fixture.close();
    }

    @Test
    void shouldShowAcceptedThenDeliveredThenReadWhileBothOnline() throws Exception {
        TestClient alice = fixture.user("alice").connect();
        TestClient bob = fixture.user("bob").connect();

        alice.send("bob", "m-1", "hello bob");

        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.serverIdOf("m-1") > 0);
        long serverId = alice.serverIdOf("m-1");
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> bob.deliveredCount() == 1);
        Deliver d = bob.deliveredSnapshot().get(0);
        assertThat(d.getPayload().toStringUtf8()).isEqualTo("hello bob");
        assertThat(d.getSender()).isEqualTo("alice");
        assertThat(d.getServerMessageId()).isEqualTo(serverId);
        assertThat(d.getClientMessageId()).isEqualTo("m-1");

        // bob's client acknowledged on receipt: alice sees the double tick, and no blue one yet.
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.receiptsFor(serverId).size() == 1);
        assertThat(alice.receiptsFor(serverId)).containsExactly(Status.DELIVERED);

        bob.markRead(serverId);
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.receiptsFor(serverId).size() == 2);
        assertThat(alice.receiptsFor(serverId)).containsExactly(Status.DELIVERED, Status.READ);
        assertThat(alice.accepted.get("m-1")).containsExactly(serverId);
    }

    @Test
    void shouldDeliverInOrderToRecipientWhoConnectsLaterAndStoreReceiptsForOfflineSender() throws Exception {
        TestClient alice = fixture.user("alice").connect();
        List<String> ids = IntStream.range(0, 50).mapToObj(i -> "c-" + i).toList();
        for (String id : ids) {
            alice.send("bob", id, "text " + id);
        }
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> alice.accepted.size() == ids.size());
        List<Long> serverIds = ids.stream().map(alice::serverIdOf).toList();
        assertThat(serverIds).isSorted().doesNotHaveDuplicates();

        // alice goes offline before bob comes: the receipts must wait for her.
        alice.disconnect();
        TestClient bob = fixture.user("bob").connect();
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> bob.deliveredCount() == ids.size());
        assertThat(bob.deliveredSnapshot()).extracting(Deliver::getClientMessageId).containsExactlyElementsOf(ids);
        bob.markRead(serverIds.stream().mapToLong(Long::longValue).toArray());

        alice.connect();
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS)
            .until(() -> serverIds.stream().allMatch(id -> alice.receiptsFor(id).size() == 2));
        for (long id : serverIds) {
            assertThat(alice.receiptsFor(id)).containsExactly(Status.DELIVERED, Status.READ);
        }
    }

    @Test
    void shouldAnswerRepeatedSendWithTheSameServerIdAndDeliverItOnce() throws Exception {
        TestClient alice = fixture.user("alice").connect();
        TestClient bob = fixture.user("bob").connect();
        alice.send("bob", "dup", "once");
        alice.send("bob", "dup", "once");
        alice.send("bob", "after", "two");
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS)
            .until(() -> alice.accepted.getOrDefault("dup", List.of()).size() == 2 && alice.serverIdOf("after") > 0);
        assertThat(alice.accepted.get("dup")).hasSize(2).containsOnly(alice.serverIdOf("dup"));
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> bob.deliveredCount() == 2);
        assertThat(bob.deliveredSnapshot()).extracting(Deliver::getClientMessageId).containsExactly("dup", "after");
    }

    @Test
    void shouldCopyMessagesToSendersOtherDevicesAndTicksToAllOfThem() throws Exception {
        TestClient alicePhone = fixture.device("alice", "1").connect();
        TestClient aliceLaptop = fixture.device("alice", "laptop").connect();
        TestClient bob = fixture.user("bob").connect();
        alicePhone.send("bob", "x-1", "from the phone");
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> bob.deliveredCount() == 1);
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> aliceLaptop.deliveredCount() == 1);
        assertThat(aliceLaptop.deliveredSnapshot().get(0).getRecipient()).isEqualTo("bob");
        long id = alicePhone.serverIdOf("x-1");
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS)
            .until(() -> alicePhone.receiptsFor(id).size() == 1 && aliceLaptop.receiptsFor(id).size() == 1);
    }
}
